"""aiosfstream-ng against the emulator: a JWT-bearer authenticator and a client that reconnects.

``aiosfstream_ng.Client`` takes no ``ssl`` argument (set ``client.ssl`` before ``open()``) and has
no JWT flow (subclass ``AuthenticatorBase``). Its ``_wait_connection_timeout`` still passes
``loop=`` to ``asyncio.wait_for``, which Python 3.10 removed: the first reconnect after a dropped
connection would end ``receive()`` with ``TransportTimeoutError``; :class:`EmulatorStreamingClient`
overrides it.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from pathlib import Path
from typing import Any

import aiohttp
import jwt
from aiocometd_ng.constants import TransportState
from aiosfstream_ng import Client
from aiosfstream_ng.auth import AuthenticatorBase
from aiosfstream_ng.replay import ReplayMarker, ReplayOption

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
API_VERSION = "59.0"


class JwtAuthenticator(AuthenticatorBase):
    """OAuth 2.0 JWT bearer login against ``SF_LOGIN_URL``; every call is a fresh login."""

    def __init__(self, *, env: dict[str, str], ssl_context: ssl.SSLContext) -> None:
        super().__init__()
        self._login_url = env["SF_LOGIN_URL"].rstrip("/")
        self._consumer_key = env["SF_CONSUMER_KEY"]
        self._username = env["SF_USERNAME"]
        self._private_key = Path(env["SF_PRIVATE_KEY_FILE"]).read_text()
        self._ssl = ssl_context
        self.logins = 0

    async def _authenticate(self) -> tuple[int, dict[str, Any]]:
        claims = {
            "iss": self._consumer_key,
            "sub": self._username,
            "aud": self._login_url,
            "exp": str(int(time.time()) + 180),
        }
        assertion = jwt.encode(claims, self._private_key, algorithm="RS256")
        form = {"grant_type": JWT_GRANT, "assertion": assertion}
        async with aiohttp.ClientSession() as http:
            url = f"{self._login_url}/services/oauth2/token"
            async with http.post(url, data=form, ssl=self._ssl) as response:
                self.logins += 1
                return response.status, await response.json()

    def __repr__(self) -> str:
        return f"JwtAuthenticator(username={self._username!r})"


class EmulatorStreamingClient(Client):
    """aiosfstream-ng's client on API 59.0, with the Python 3.10+ reconnect fix."""

    def get_cometd_url(self, instance_url: str) -> str:  # type: ignore[override]
        return f"{instance_url.rstrip('/')}/cometd/{API_VERSION}"

    async def _wait_connection_timeout(self, timeout: float) -> None:
        assert self._transport is not None
        while True:
            await self._transport.wait_for_state(TransportState.CONNECTING)
            try:
                await asyncio.wait_for(
                    self._transport.wait_for_state(TransportState.CONNECTED), timeout
                )
            except TimeoutError:
                break


def streaming_client(
    env: dict[str, str],
    *,
    replay: dict[str, ReplayMarker] | ReplayOption = ReplayOption.NEW_EVENTS,
    connection_timeout: float = 10.0,
) -> EmulatorStreamingClient:
    """A client for the emulator in ``env`` (connection.env), trusting its CA (``SF_CA_BUNDLE``)."""
    context = ssl.create_default_context(cafile=env["SF_CA_BUNDLE"])
    authenticator = JwtAuthenticator(env=env, ssl_context=context)
    client = EmulatorStreamingClient(
        authenticator, replay=replay, connection_timeout=connection_timeout
    )
    client.ssl = context
    return client


async def receive(client: Client, count: int, *, timeout: float = 10.0) -> list[dict]:
    """The next ``count`` event messages (fails after ``timeout`` seconds)."""
    return [await asyncio.wait_for(client.receive(), timeout) for _ in range(count)]


async def receive_nothing(client: Client, *, within: float) -> bool:
    """True when no message arrives within ``within`` seconds."""
    try:
        await asyncio.wait_for(client.receive(), within)
    except TimeoutError:
        return True
    return False


def header(message: dict) -> dict:
    return message["data"]["payload"]["ChangeEventHeader"]


def record_ids(messages: list[dict]) -> list[str]:
    return [header(message)["recordIds"][0] for message in messages]
