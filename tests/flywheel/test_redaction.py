"""Decision rows keep secrets masked, and the fast path for plain strings changes nothing."""

import pytest

from flywheel.redaction import api_key_strip, may_hold_secret
from flywheel_site import logging as site_logging
from flywheel_site.logging import MASK, redact

# One credential per pattern of flywheel_site.logging (add one here with every new pattern).
SECRETS = [
    "00D5f000000ABCD!AQ4AQFakeTokenFakeTokenFakeToken",
    "Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345",
    "sk-ant-api03-abcdefghijklmnop",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEfake\n-----END RSA PRIVATE KEY-----",
    '{"access_token": "opaque-value-123"}',
]


def test_every_credential_pattern_has_a_hint_the_fast_path_looks_for():
    assert len(SECRETS) == len(site_logging._PATTERNS)
    for pattern, secret in zip(site_logging._PATTERNS, SECRETS, strict=True):
        assert pattern.search(secret), secret
        assert may_hold_secret(secret), secret


@pytest.mark.parametrize("secret", SECRETS)
def test_credentials_nested_in_a_decision_are_masked(secret):
    stripped = api_key_strip({"messages": [{"role": "user", "content": f"lead note: {secret}"}]})

    content = stripped["messages"][0]["content"]
    assert MASK in content and content == f"lead note: {redact(secret)}"


def test_configured_api_key_is_masked_even_without_a_credential_shape(settings):
    settings.ANTHROPIC_API_KEY = "plainkeywithnoshape42"

    assert api_key_strip(["x plainkeywithnoshape42 y"]) == [f"x {MASK} y"]


def test_plain_decision_text_passes_through_unchanged(settings):
    settings.ANTHROPIC_API_KEY = ""
    context = {"lead": {"Company": "ACME 00Q5f", "Country": "Germany"}, "reasons": ["MM", 540]}

    assert api_key_strip(context) == context
