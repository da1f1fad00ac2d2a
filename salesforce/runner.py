"""Run the listener: lease (active/standby), stream or poll, heartbeat, graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal
import time
from collections import deque
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

from salesforce import auth, inbox, lease, listener, streaming
from salesforce.connection import integration_user_id, salesforce_client, stream_token

logger = logging.getLogger("salesforce.listen")


@dataclass
class ListenOptions:
    polling: bool = False
    poll_interval: float = 5.0
    default_replay: int = -1
    batch_size: int = 500
    batch_wait: float = 0.05
    auto_fallback: bool = True
    lease_name: str = "default"


class Rate:
    """Events per minute over a sliding window."""

    def __init__(self) -> None:
        self._stamps: deque[tuple[float, int]] = deque()

    def add(self, count: int) -> None:
        self._stamps.append((time.monotonic(), count))

    def per_minute(self) -> float:
        cutoff = time.monotonic() - 60
        while self._stamps and self._stamps[0][0] < cutoff:
            self._stamps.popleft()
        return float(sum(count for _, count in self._stamps))


class Listener:
    def __init__(self, options: ListenOptions, *, out=None) -> None:
        self.options = options
        self.holder = lease.holder_name()
        self.stop = asyncio.Event()
        self.rate = Rate()
        self.last_event_at: dt.datetime | None = None
        self.last_replay_id: int | None = None
        self.lag_seconds: float | None = None
        self.mode = "polling" if options.polling else "streaming"
        self.pending_reconcile: tuple[dt.datetime, str] | None = None
        self._out = out or (lambda text: logger.info(text))

    def say(self, text: str) -> None:
        self._out(text)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop.set)
        while not self.stop.is_set():
            if not await self._acquire():
                await self._sleep(lease.STANDBY_POLL_SECONDS)
                continue
            self.say(f"active listener ({self.mode}); holder {self.holder}")
            try:
                await self._run_active()
            finally:
                await sync_to_async(lease.lease_release)(
                    holder=self.holder, name=self.options.lease_name
                )
        self.say("listener stopped")

    async def _acquire(self) -> bool:
        return await sync_to_async(lease.lease_acquire)(
            holder=self.holder, name=self.options.lease_name
        )

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)

    async def _run_active(self) -> None:
        lost = asyncio.Event()
        keeper = asyncio.create_task(self._keep_lease(lost))
        try:
            await sync_to_async(inbox.events_dispatch_pending)(
                integration_user_id=integration_user_id()
            )
            if self.mode == "polling":
                await self._poll(lost)
            else:
                await self._stream(lost)
        finally:
            keeper.cancel()

    async def _keep_lease(self, lost: asyncio.Event) -> None:
        while True:
            await asyncio.sleep(lease.RENEW_EVERY_SECONDS)
            if not await self._acquire():
                self.say("lease lost to another listener: stepping down")
                lost.set()
                return
            await sync_to_async(lease.heartbeat_record)(
                holder=self.holder,
                mode=self.mode,
                last_event_at=self.last_event_at,
                last_replay_id=self.last_replay_id,
                events_per_min=self.rate.per_minute(),
                lag_seconds=self.lag_seconds,
                name=self.options.lease_name,
            )

    def _done(self, lost: asyncio.Event) -> bool:
        return self.stop.is_set() or lost.is_set()

    async def _poll(self, lost: asyncio.Event) -> None:
        state = listener.PollState()
        start = dt.datetime.now(dt.UTC)
        while not self._done(lost):
            count = await sync_to_async(self._poll_round)(state, start)
            self.rate.add(count)
            if count:
                self.last_event_at = dt.datetime.now(dt.UTC)
            await self._sleep(self.options.poll_interval)

    def _poll_round(self, state: listener.PollState, start: dt.datetime) -> int:
        close_old_connections()
        try:
            return listener.poll_once(
                client=salesforce_client(),
                integration_user_id=integration_user_id(),
                state=state,
                start=start,
            )
        except Exception:
            logger.exception("polling round failed; retrying next round")
            return 0

    async def _stream(self, lost: asyncio.Event) -> None:
        backoff = 1.0
        while not self._done(lost):
            try:
                await self._stream_session(lost)
                backoff = 1.0
            except streaming.InvalidReplayId as error:
                await sync_to_async(self._recover_invalid_replay)(str(error))
            except Exception as error:  # network, auth, server restarts: reconnect with backoff
                logger.warning("stream interrupted (%s); reconnecting in %.0fs", error, backoff)
                await self._sleep(backoff)
                backoff = min(backoff * 2, 60.0)

    async def _stream_session(self, lost: asyncio.Event) -> None:
        storage = streaming.DatabaseReplayStorage(
            read=_stored_replay_id, default=self.options.default_replay
        )
        client = streaming.make_client(
            provider=stream_token,
            storage=storage,
            ssl_context=auth.ssl_context(),
            api_version=settings.SF_API_VERSION,
        )
        await client.open()
        try:
            await streaming.subscribe_all(client, streaming.CHANNELS)
            self.say("subscribed to " + ", ".join(streaming.CHANNELS))
            if self.pending_reconcile is not None:
                await sync_to_async(self._reconcile_pending)()
            queue: asyncio.Queue = asyncio.Queue(maxsize=10_000)
            reader = asyncio.create_task(streaming.pump(client, queue))
            try:
                await self._consume(queue, reader, lost)
            finally:
                reader.cancel()
        finally:
            await client.close()

    async def _consume(
        self, queue: asyncio.Queue, reader: asyncio.Task, lost: asyncio.Event
    ) -> None:
        while not self._done(lost):
            if reader.done() and queue.empty():
                reader.result()  # re-raise what ended the stream
                raise ConnectionError("stream ended")
            batch = await streaming.next_batch(
                queue,
                max_size=self.options.batch_size,
                max_wait=self.options.batch_wait,
                first_timeout=0.5,
            )
            if batch:
                await self._handle(batch)

    async def _handle(self, batch: list[dict]) -> None:
        delay = 1.0
        while True:
            try:
                outcome = await sync_to_async(self._process)(batch)
                break
            except Exception:
                logger.exception("could not store a batch of %d events; retrying", len(batch))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
        self.rate.add(len(batch))
        now = dt.datetime.now(dt.UTC)
        self.last_event_at = now
        if outcome.last_replay_id is not None:
            self.last_replay_id = outcome.last_replay_id
        if outcome.last_commit is not None:
            self.lag_seconds = max(0.0, (now - outcome.last_commit).total_seconds())

    def _process(self, batch: list[dict]) -> listener.BatchOutcome:
        close_old_connections()
        return listener.batch_process(
            batch, client=_LazyClient(), integration_user_id=integration_user_id()
        )

    def _recover_invalid_replay(self, reason: str) -> None:
        close_old_connections()
        positions = [p for p in map(inbox.replay_position_get, streaming.CHANNELS) if p]
        since = min(
            (p.commit_timestamp for p in positions if p.commit_timestamp),
            default=dt.datetime.now(dt.UTC) - dt.timedelta(hours=72),
        )
        for channel in streaming.CHANNELS:
            inbox.replay_position_reset(channel=channel)
        # Reconcile only once subscribed to new events, so nothing falls between the two.
        self.pending_reconcile = (since - listener.POLL_OVERLAP, reason[:160])

    def _reconcile_pending(self) -> None:
        assert self.pending_reconcile is not None
        since, reason = self.pending_reconcile
        listener.reconcile_since(
            since,
            client=salesforce_client(),
            integration_user_id=integration_user_id(),
            reason=f"The stored replay id was rejected ({reason}); resubscribed to new events.",
        )
        self.pending_reconcile = None


class _LazyClient:
    """Only log in to the REST API when a batch actually needs it (gap reconciliation)."""

    def __getattr__(self, name: str):
        return getattr(salesforce_client(), name)


def _stored_replay_id(channel: str) -> int | None:
    position = inbox.replay_position_get(channel)
    return position.replay_id if position else None
