"""The CDC subscription: aiosfstream-ng with JWT auth, durable replay ids and batched hand-off.

Messages are read by one task into a local queue (so batching with timeouts never cancels a
receive in flight), grouped into batches, and handed to ``on_batch`` (synchronous, run in a
thread), which makes them durable before the replay ids move.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiosfstream_ng import Client
from aiosfstream_ng.auth import AuthenticatorBase
from aiosfstream_ng.client import ReplayMarkerStoragePolicy
from aiosfstream_ng.exceptions import ServerError
from aiosfstream_ng.replay import ReplayMarker, ReplayMarkerStorage
from asgiref.sync import sync_to_async

logger = logging.getLogger(__name__)

CHANNELS = ("/data/LeadChangeEvent", "/data/TaskChangeEvent", "/data/EmailMessageChangeEvent")


def entity_of(channel: str) -> str:
    """``/data/LeadChangeEvent`` → ``Lead``."""
    return channel.removeprefix("/data/").removesuffix("ChangeEvent")


@dataclass(frozen=True)
class StreamToken:
    access_token: str
    instance_url: str
    identity_url: str = ""


TokenProvider = Callable[[bool], StreamToken]  # argument: force a fresh login


class JwtAuthenticator(AuthenticatorBase):
    """Hands aiosfstream the app's JWT-bearer token; a re-authentication forces a fresh login."""

    def __init__(self, provider: TokenProvider) -> None:
        super().__init__()
        self._provider = provider
        self._calls = 0

    async def _authenticate(self) -> tuple[int, dict[str, Any]]:
        force = self._calls > 0
        self._calls += 1
        token = await asyncio.to_thread(self._provider, force)
        return 200, {
            "access_token": token.access_token,
            "instance_url": token.instance_url,
            "token_type": "Bearer",
            "id": token.identity_url,
        }

    def __repr__(self) -> str:  # never show the token
        return "JwtAuthenticator()"


class DatabaseReplayStorage(ReplayMarkerStorage):
    """Replay ids come from the database; they are written there together with the events."""

    def __init__(self, *, read: Callable[[str], int | None], default: int = -1) -> None:
        super().__init__()
        self._read = read
        self.default = default

    async def get_replay_marker(self, subscription: str) -> ReplayMarker | None:
        replay_id = await sync_to_async(self._read, thread_sensitive=True)(subscription)
        if replay_id is None:
            return None
        return ReplayMarker(date="", replay_id=replay_id)

    async def get_replay_id(self, subscription: str) -> int | None:
        marker = await self.get_replay_marker(subscription)
        return marker.replay_id if marker else self.default

    async def set_replay_marker(self, subscription: str, replay_marker: ReplayMarker) -> None:
        """Not used: positions are stored in the same transaction as the events."""


class StreamingClient(Client):
    """aiosfstream-ng's client with the API version from settings and the Python 3.10+ fix."""

    api_version = "59.0"

    def get_cometd_url(self, instance_url: str) -> str:  # type: ignore[override]
        return f"{instance_url.rstrip('/')}/cometd/{self.api_version}"

    async def _wait_connection_timeout(self, timeout: float) -> None:
        # aiocometd-ng still passes loop= to asyncio.wait_for here, which Python 3.10 removed.
        from aiocometd_ng.constants import TransportState

        assert self._transport is not None
        while True:
            await self._transport.wait_for_state(TransportState.CONNECTING)
            try:
                await asyncio.wait_for(
                    self._transport.wait_for_state(TransportState.CONNECTED), timeout
                )
            except TimeoutError:
                break


class InvalidReplayId(Exception):
    """The stored replay id is outside the retention window (or unknown)."""


def failure_text(error: BaseException) -> str:
    """What the server (or the network) said, for the operator: a CometD error with the reason
    Salesforce gives in ``ext.sfdc.failureReason`` (a denied handshake names the limit)."""
    if not isinstance(error, ServerError):
        return f"{type(error).__name__}: {error}"[:300]
    response = error.response if isinstance(error.response, dict) else {}
    sfdc = (response.get("ext") or {}).get("sfdc") if isinstance(response.get("ext"), dict) else {}
    reason = sfdc.get("failureReason") if isinstance(sfdc, dict) else None
    text = str(response.get("error") or error.message)
    return (f"{text} ({reason})" if reason else text)[:300]


def is_invalid_replay(error: ServerError) -> bool:
    message = str(getattr(error, "error_message", "") or error)
    return "replayId" in message and "invalid" in message


async def subscribe_all(client: StreamingClient, channels: tuple[str, ...]) -> None:
    for channel in channels:
        try:
            await client.subscribe(channel)
        except ServerError as error:
            if is_invalid_replay(error):
                raise InvalidReplayId(str(error)) from error
            raise


def make_client(
    *,
    provider: TokenProvider,
    storage: DatabaseReplayStorage,
    ssl_context: ssl.SSLContext | None,
    api_version: str,
    connection_timeout: float = 30.0,
) -> StreamingClient:
    client = StreamingClient(
        JwtAuthenticator(provider),
        replay=storage,
        replay_storage_policy=ReplayMarkerStoragePolicy.MANUAL,
        connection_timeout=connection_timeout,
    )
    client.api_version = api_version
    if ssl_context is not None:
        client.ssl = ssl_context
    return client


async def pump(client: StreamingClient, queue: asyncio.Queue) -> None:
    """Read messages forever into ``queue``; the reader is the only one awaiting receive()."""
    async for message in client:
        await queue.put(message)


@dataclass
class BatchWait:
    """How long to gather a batch, from the recent event rate: ``low`` at ``low_rate`` events/s
    and below (a lead is handed on at once), rising linearly to ``high`` at ``high_rate`` and
    above (at 100 events/s about 60 leads a batch, so owner writes and tasks go out in bulk)."""

    low: float = 0.05
    high: float = 0.6
    low_rate: float = 20.0
    high_rate: float = 100.0
    window: float = 2.0
    _seen: deque[tuple[float, int]] = field(default_factory=deque, repr=False)

    def observe(self, count: int, *, now: float | None = None) -> None:
        """``count`` events were just received."""
        self._seen.append((time.monotonic() if now is None else now, count))

    def rate(self, *, now: float | None = None) -> float:
        """Events per second over the last ``window`` seconds."""
        now = time.monotonic() if now is None else now
        while self._seen and self._seen[0][0] < now - self.window:
            self._seen.popleft()
        return sum(count for _, count in self._seen) / self.window

    def seconds(self, *, now: float | None = None) -> float:
        share = (self.rate(now=now) - self.low_rate) / (self.high_rate - self.low_rate)
        return self.low + (self.high - self.low) * min(1.0, max(0.0, share))


async def next_batch(
    queue: asyncio.Queue, *, max_size: int, max_wait: float, first_timeout: float
) -> list[dict]:
    """Wait up to ``first_timeout`` for a message, then gather more for up to ``max_wait``."""
    try:
        first = await asyncio.wait_for(queue.get(), first_timeout)
    except TimeoutError:
        return []
    batch = [first]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max_wait
    while len(batch) < max_size:
        if not queue.empty():
            batch.append(queue.get_nowait())
            continue
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        try:
            batch.append(await asyncio.wait_for(queue.get(), remaining))
        except TimeoutError:
            break
    return batch
