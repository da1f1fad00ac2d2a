"""The learning loop: train local replacement models from labelled decisions, serve them through
the gateway as champion, shadow or A/B challenger, and promote or demote them."""
