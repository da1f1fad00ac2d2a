"""What the listener needs from the Salesforce layer, in one place."""

from __future__ import annotations

from salesforce import auth, conf
from salesforce.client import SalesforceClient, get_client
from salesforce.streaming import StreamToken


def stream_token(force: bool) -> StreamToken:
    """The shared JWT-bearer token for the streaming client; ``force`` logs in again."""
    token = auth.get_token(force_refresh=force)
    return StreamToken(
        access_token=token.access_token,
        instance_url=token.instance_url,
        identity_url=token.identity_url,
    )


def integration_user_id() -> str:
    """The id of the user the app writes as (its changes are not human changes)."""
    return conf.integration_user_id()


def salesforce_client() -> SalesforceClient:
    return get_client(workload="listener")
