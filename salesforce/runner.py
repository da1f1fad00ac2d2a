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
from salesforce.selection import cdc_selected_entities
from salesforce.usage import recorder

logger = logging.getLogger("salesforce.listen")

REDISPATCH_EVERY_SECONDS = 15.0  # events stored but not dispatched (broker down) are retried


@dataclass
class ListenOptions:
    polling: bool = False
    poll_interval: float = 5.0
    default_replay: int = -1
    batch_size: int = 500
    batch_wait: float = 0.05  # below ~20 events/s
    max_batch_wait: float = 0.6  # from ~100 events/s (see streaming.BatchWait)
    lease_name: str = "default"
    fallback_after: int = 3  # stream sessions failing before they subscribe, in a row; 0: never
    stream_retry_minutes: float = 10.0  # how long polling stands in before the stream is retried


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
        self.rejected_replay: str = ""  # why the server refused the stored replay ids, if it did
        self.poll_start: dt.datetime | None = None  # objects never polled start here
        self._subscribed = False  # the current stream session got as far as its subscriptions
        self._beside: tuple[str, ...] = ()  # objects polled beside the stream (not selected)
        self._out = out or (lambda text: logger.info(text))

    def say(self, text: str) -> None:
        self._out(text)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop.set)
        loop.set_exception_handler(_quiet_cancelled_callbacks)
        try:
            await self._serve()
        finally:
            await sync_to_async(recorder.flush)()
        self.say("listener stopped")

    async def _serve(self) -> None:
        standby_said = False
        backoff = 1.0
        while not self.stop.is_set():
            if not await self._acquire():
                if not standby_said:
                    self.say("standby: another listener holds the lease; waiting to take over")
                    standby_said = True
                await self._sleep(lease.STANDBY_POLL_SECONDS)
                continue
            self.say(f"active listener ({self.mode}); holder {self.holder}")
            standby_said = False
            try:
                await self._run_active()
                backoff = 1.0
            except Exception:  # the database or the broker failed: step down, then try again
                logger.exception("listener failed; retrying in %.0fs", backoff)
                await self._sleep(backoff)
                backoff = min(backoff * 2, 60.0)
            finally:
                with contextlib.suppress(Exception):
                    await sync_to_async(lease.lease_release)(
                        holder=self.holder, name=self.options.lease_name
                    )

    async def _acquire(self) -> bool:
        try:
            return await sync_to_async(self._acquire_sync)()
        except Exception:
            logger.warning("could not reach the lease (database)", exc_info=True)
            return False

    def _acquire_sync(self) -> bool:
        close_old_connections()
        return lease.lease_acquire(holder=self.holder, name=self.options.lease_name)

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
        """Renew the lease, write the heartbeat, re-dispatch stragglers; step down when the
        lease is taken or cannot be renewed before it would expire."""
        renewed = time.monotonic()
        redispatched = time.monotonic()
        while True:
            try:
                await sync_to_async(self._heartbeat)()
            except Exception:
                logger.warning("could not write the heartbeat", exc_info=True)
            await asyncio.sleep(lease.RENEW_EVERY_SECONDS)
            if await self._acquire():
                renewed = time.monotonic()
            elif not await self._lease_unreachable_but_ours(renewed):
                self.say("lease lost to another listener: stepping down")
                lost.set()
                return
            if time.monotonic() - redispatched >= REDISPATCH_EVERY_SECONDS:
                redispatched = time.monotonic()
                try:
                    await sync_to_async(self._redispatch)()
                except Exception:
                    logger.warning("could not re-dispatch pending events", exc_info=True)

    async def _lease_unreachable_but_ours(self, renewed: float) -> bool:
        """The renewal failed: keep going only while our last renewal is surely still valid."""
        margin = lease.RENEW_EVERY_SECONDS
        return time.monotonic() - renewed < lease.LEASE_SECONDS - margin and not (
            await sync_to_async(self._lease_taken)()
        )

    def _lease_taken(self) -> bool:
        try:
            return not lease.lease_held(holder=self.holder, name=self.options.lease_name)
        except Exception:
            return False  # the database is unreachable: nobody else can take it either

    def _heartbeat(self) -> None:
        close_old_connections()
        lease.heartbeat_record(
            holder=self.holder,
            mode=self.mode,
            last_event_at=self.last_event_at,
            last_replay_id=self.last_replay_id,
            events_per_min=self.rate.per_minute(),
            lag_seconds=self.lag_seconds,
            name=self.options.lease_name,
        )

    def _redispatch(self) -> None:
        close_old_connections()
        count = inbox.events_dispatch_pending(
            integration_user_id=integration_user_id(),
            older_than_seconds=REDISPATCH_EVERY_SECONDS,
        )
        if count:
            logger.warning("re-dispatched %d stored events whose dispatch had failed", count)

    def _done(self, lost: asyncio.Event) -> bool:
        return self.stop.is_set() or lost.is_set()

    async def _poll(
        self,
        lost: asyncio.Event,
        *,
        until: float | None = None,
        entities: tuple[str, ...] = listener.RECONCILE_ENTITIES,
    ) -> None:
        """Poll ``entities`` every ``poll_interval`` seconds until stopped (or ``until``, a
        monotonic time)."""
        state = listener.PollState()
        while not self._done(lost) and (until is None or time.monotonic() < until):
            count = await sync_to_async(self._poll_round)(state, entities)
            self.rate.add(count)
            if count:
                now = dt.datetime.now(dt.UTC)
                self.last_event_at = now
                if state.last_commit is not None:
                    self.lag_seconds = max(0.0, (now - state.last_commit).total_seconds())
            await self._sleep(self.options.poll_interval)

    def _poll_round(
        self, state: listener.PollState, entities: tuple[str, ...] = listener.RECONCILE_ENTITIES
    ) -> int:
        close_old_connections()
        try:
            if self.poll_start is None:  # on Salesforce's clock: the host's may be minutes off
                self.poll_start = listener.salesforce_now()
            return listener.poll_once(
                client=salesforce_client(),
                integration_user_id=integration_user_id(),
                state=state,
                start=self.poll_start,
                entities=entities,
            )
        except Exception:
            logger.exception("polling round failed; retrying next round")
            return 0

    async def _stream(self, lost: asyncio.Event) -> None:
        self._beside = await sync_to_async(self._unselected_entities)()
        beside = (
            asyncio.create_task(self._poll(lost, entities=self._beside)) if self._beside else None
        )
        try:
            await self._stream_sessions(lost)
        finally:
            if beside is not None:
                beside.cancel()
            self._beside = ()

    def _unselected_entities(self) -> tuple[str, ...]:
        """The objects the org did not select for Change Data Capture: no events ever come for
        them, so they are polled beside the stream. Unknown (the selection is not readable):
        none, the stream is trusted as before."""
        close_old_connections()
        try:
            selected = cdc_selected_entities(salesforce_client())
        except Exception as error:  # no View Setup and Configuration, an outage: stream only
            logger.info("could not read the Change Data Capture selection: %s", error)
            return ()
        missing = tuple(e for e in listener.RECONCILE_ENTITIES if e not in selected)
        if missing:
            text = (
                f"Change Data Capture is not selected for {', '.join(missing)} in Salesforce: "
                f"polling {'it' if len(missing) == 1 else 'them'} every "
                f"{self.options.poll_interval:g} s beside the stream (Setup → Change Data "
                "Capture → Selected Entities ends this)."
            )
            self.say(text)
            lease.notice_record(text=text, name=self.options.lease_name)
        return missing

    async def _stream_sessions(self, lost: asyncio.Event) -> None:
        backoff, refused = 1.0, 0
        while not self._done(lost):
            self._subscribed = False
            try:
                await self._stream_session(lost)
                backoff = 1.0
            except streaming.InvalidReplayId as error:
                await sync_to_async(self._recover_invalid_replay)(str(error))
            except Exception as error:  # network, auth, server restarts: reconnect with backoff
                refused = 0 if self._subscribed else refused + 1
                reason = streaming.failure_text(error)
                if 0 < self.options.fallback_after <= refused:
                    await self._poll_instead(lost, refused=refused, reason=reason)
                    backoff, refused = 1.0, 0
                    continue
                logger.warning("stream interrupted (%s); reconnecting in %.0fs", reason, backoff)
                await self._sleep(backoff)
                backoff = min(backoff * 2, 60.0)

    async def _poll_instead(self, lost: asyncio.Event, *, refused: int, reason: str) -> None:
        """The stream cannot be used (its sessions fail before subscribing: a denied handshake
        at an org limit, streaming off for the user, an outage): poll from where the stream is
        known complete, then try the stream again. It replays from its stored replay ids, so
        what both bring is handled once by the idempotent workloads."""
        minutes = self.options.stream_retry_minutes
        text = (
            f"Change Data Capture streaming failed {refused} times in a row ({reason}): polling "
            f"Salesforce every {self.options.poll_interval:g} s instead, trying the stream again "
            f"every {minutes:g} min."
        )
        self.say(text)
        streamed = tuple(e for e in listener.RECONCILE_ENTITIES if e not in self._beside)
        await sync_to_async(self._fallback_begin)(text, streamed)
        try:
            await self._poll(lost, until=time.monotonic() + minutes * 60, entities=streamed)
        finally:
            self.mode = "streaming"
            with contextlib.suppress(Exception):  # the next renewal writes it otherwise
                await sync_to_async(self._heartbeat)()
        if not self._done(lost):
            self.say("trying the Change Data Capture stream again")

    def _fallback_begin(self, text: str, entities: tuple[str, ...]) -> None:
        close_old_connections()
        inbox.poll_watermarks_from_stream(
            channels={
                channel: listener.poll_channel(streaming.entity_of(channel))
                for channel in streaming.CHANNELS
                if streaming.entity_of(channel) in entities
            }
        )
        self.mode = "polling"
        lease.notice_record(text=text, name=self.options.lease_name)
        self._heartbeat()

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
            subscribed_at = dt.datetime.now(dt.UTC)
            await streaming.subscribe_all(client, streaming.CHANNELS)
            self._subscribed = True
            self.say("subscribed to " + ", ".join(streaming.CHANNELS))
            await sync_to_async(self._catch_up)(subscribed_at)
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
        wait = streaming.BatchWait(
            low=self.options.batch_wait,
            high=max(self.options.batch_wait, self.options.max_batch_wait),
        )
        while not self._done(lost):
            if reader.done() and queue.empty():
                reader.result()  # re-raise what ended the stream
                raise ConnectionError("stream ended")
            batch = await streaming.next_batch(
                queue,
                max_size=self.options.batch_size,
                max_wait=wait.seconds(),
                first_timeout=0.5,
            )
            if batch:
                wait.observe(len(batch))
                await self._handle(batch)

    async def _handle(self, batch: list[dict]) -> None:
        delay = 1.0
        while True:
            try:
                outcome = await sync_to_async(self._process)(batch)
                break
            except Exception:
                if self.stop.is_set():  # its replay ids were not stored: the next start replays it
                    logger.exception("could not store a batch of %d events; stopping", len(batch))
                    return
                logger.exception("could not store a batch of %d events; retrying", len(batch))
                await self._sleep(delay)
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
        """Forget the rejected replay ids (their commit times stay): the next session subscribes
        to new events and reconciles what changed since then (see ``_catch_up``)."""
        close_old_connections()
        logger.warning("the stored replay id was rejected: %s", reason)
        for channel in streaming.CHANNELS:
            inbox.replay_position_reset(channel=channel)
        self.rejected_replay = reason[:160]

    def _catch_up(self, subscribed_at: dt.datetime) -> None:
        """Reconcile channels subscribed without a replay id (reset after a rejection, or no
        event stored on them yet) since the last time they were known complete, then mark them
        complete as of this subscription. Runs after subscribing, so nothing falls in between;
        what both the stream and the query bring is handled once by the idempotent workloads."""
        close_old_connections()
        rejected, self.rejected_replay = self.rejected_replay, ""
        for channel in streaming.CHANNELS:
            position = inbox.replay_position_get(channel)
            if position is not None and position.replay_id is not None:
                continue
            # A channel never listened to before gets its mark too: killed before its first
            # event, the next start reconciles from this subscription instead of from now.
            if position is not None and position.commit_timestamp is not None:
                listener.reconcile_since(
                    position.commit_timestamp - listener.POLL_OVERLAP,
                    client=salesforce_client(),
                    integration_user_id=integration_user_id(),
                    entities=(streaming.entity_of(channel),),
                    reason=(
                        f"The stored replay id was rejected ({rejected}); resubscribed to new "
                        "events."
                        if rejected
                        else ""
                    ),
                )
            inbox.replay_position_save(
                channel=channel, replay_id=None, commit_timestamp=subscribed_at
            )


def _quiet_cancelled_callbacks(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """aiocometd-ng reads the result of its cancelled long poll in a done-callback when the
    client closes; that is a normal shutdown, not an error worth a traceback."""
    if isinstance(context.get("exception"), asyncio.CancelledError):
        logger.debug("cancelled CometD request at shutdown: %s", context.get("message"))
        return
    loop.default_exception_handler(context)


class _LazyClient:
    """Only log in to the REST API when a batch actually needs it (gap reconciliation)."""

    def __getattr__(self, name: str):
        return getattr(salesforce_client(), name)


def _stored_replay_id(channel: str) -> int | None:
    position = inbox.replay_position_get(channel)
    return position.replay_id if position else None
