"""Bayeux over long-polling at ``POST /cometd/<version>``, as Salesforce's Streaming API serves it.

Every request carries ``Authorization: Bearer <token>``; bodies and replies are JSON arrays.
A client handshakes (and gets a ``clientId``), subscribes with the ``replay`` extension and then
keeps one ``/meta/connect`` open: the server holds it up to ``advice.timeout`` and answers as soon
as events are ready, with the events and the connect reply in one array. The first connect after
a handshake is answered at once, like CometD servers do. Replay positions are cursors per
subscription over the event log (:class:`sf_emulator.cdc.EventLog`), so a dropped connection loses
nothing: the client's next connect picks up where the last delivered event left off.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web

HANDSHAKE = "/meta/handshake"
CONNECT = "/meta/connect"
SUBSCRIBE = "/meta/subscribe"
UNSUBSCRIBE = "/meta/unsubscribe"
DISCONNECT = "/meta/disconnect"
DEFAULT_TIMEOUT_MS = 110_000
MAX_INTERVAL_SECONDS = 40.0
MAX_EVENTS_PER_REPLY = 1000
COOKIE = "BAYEUX_BROWSER"
AUTH_INVALID = "401::Authentication invalid"
UNKNOWN_CLIENT = "403::Unknown client"
INVALID_REPLAY = (
    "400::The replayId {%s} you provided was invalid. Please provide a valid ID, "
    "-2 to replay all events, or -1 to replay only new events."
)
NEW_EVENTS = -1
ALL_EVENTS = -2


class StoredEventLike(Protocol):
    replay_id: int
    entity: str
    data_json: str


class EventSource(Protocol):
    """The event log as the broker reads it (``sf_emulator.cdc.EventLog``)."""

    def last_id(self) -> int: ...

    def floor(self) -> int: ...

    def is_valid_replay_id(self, replay_id: int) -> bool: ...

    def read_after(
        self, replay_id: int, *, entities: tuple[str, ...], limit: int
    ) -> list[StoredEventLike]: ...


ChannelEntities = Callable[[str], "tuple[str, ...] | None"]
Validate = Callable[[str], object | None]


@dataclass
class ClientSession:
    """One handshaken Bayeux client: its subscriptions with their replay cursors."""

    client_id: str
    user_id: str
    last_seen: float
    subscriptions: dict[str, int] = field(default_factory=dict)
    connected: bool = False
    holding: int = 0
    connect_seq: int = 0


@dataclass
class DeliverySettings:
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    paused: bool = False
    duplicate_rate: float = 0.0
    refuse_handshake: str = ""  # the failureReason of every handshake, while set


class Broker:
    """The CometD server of one org (``org.events.delivery``)."""

    def __init__(
        self,
        *,
        log: EventSource,
        channel_entities: ChannelEntities,
        validate: Validate,
        rng: random.Random,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
        max_interval_s: float = MAX_INTERVAL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = log
        self._channel_entities = channel_entities
        self._validate = validate
        self._rng = rng
        self._default_timeout_ms = timeout_ms
        self.settings = DeliverySettings(timeout_ms=timeout_ms)
        self._max_interval_s = max_interval_s
        self._monotonic = monotonic
        self._sessions: dict[str, ClientSession] = {}
        self._signal = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._drops = 0
        self._closing = False
        self._delivered = 0
        # faults as the clients met them (the requests above count what was asked for)
        self._connects_dropped = 0
        self._unknown_clients = 0
        self._duplicates = 0
        self._gaps_delivered = 0

    # ---- called by the event log (any thread) -------------------------------------------------
    def notify(self) -> None:
        """New events exist: wake the held connects."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake()
        else:
            loop.call_soon_threadsafe(self._wake)

    def apply_faults(self, faults: Mapping[str, object]) -> None:
        settings = self.settings
        timeout = number_setting(faults, "advice_timeout_ms")
        if timeout is not None:
            if timeout <= 0:
                raise ValueError("advice_timeout_ms must be positive")
            settings.timeout_ms = int(timeout)
        rate = number_setting(faults, "duplicate_rate")
        if rate is not None:
            if not 0.0 <= rate <= 1.0:
                raise ValueError("duplicate_rate must be between 0 and 1")
            settings.duplicate_rate = rate
        if "pause" in faults:
            settings.paused = bool(faults["pause"])
        if "refuse_handshake" in faults:
            reason = faults["refuse_handshake"]
            if reason is not None and not isinstance(reason, str):
                raise ValueError("refuse_handshake must be a failure reason or null")
            settings.refuse_handshake = (reason or "")[:200]
        if faults.get("expire_sessions") or settings.refuse_handshake:
            self._sessions.clear()
        if faults.get("drop"):
            self._drops += 1
        self._wake_soon()

    def reset(self) -> None:
        self.settings = DeliverySettings(timeout_ms=self._default_timeout_ms)
        self._wake_soon()

    def stats(self) -> dict[str, object]:
        return {
            "events_delivered": self._delivered,
            "clients": len(self._sessions),
            "connects_held": sum(session.holding for session in self._sessions.values()),
            "stream_drops": self._drops,
            "connects_dropped": self._connects_dropped,
            "unknown_client_replies": self._unknown_clients,
            "duplicates_delivered": self._duplicates,
            "gap_events_delivered": self._gaps_delivered,
            "paused": self.settings.paused,
            "duplicate_rate": self.settings.duplicate_rate,
            "refuse_handshake": self.settings.refuse_handshake or None,
            "advice_timeout_ms": self.settings.timeout_ms,
        }

    async def close(self, _app: web.Application | None = None) -> None:
        """Answer every held connect now (server shutdown)."""
        self._closing = True
        self._wake()

    # ---- HTTP ---------------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        self._loop = asyncio.get_running_loop()
        try:
            body = json.loads(await request.text())
        except ValueError:
            body = None
        messages = [body] if isinstance(body, dict) else body
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            return _json([_failure({}, "400::Bad request")], status=400)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        session = self._validate(token) if token else None
        if session is None:
            advice = {"reconnect": "none", "interval": 0}
            return _json([_failure(m, AUTH_INVALID, advice=advice) for m in messages])
        self._sweep()
        user_id = str(getattr(session, "user_id", ""))
        replies: list[dict | str] = []
        connect: dict | None = None
        for message in messages:
            if message.get("channel") == CONNECT and connect is None:
                connect = message
            else:
                replies.append(self._dispatch(message, user_id))
        if connect is not None:
            replies.extend(await self._connect(connect, request))
        response = _json(replies)
        if any(
            isinstance(r, dict) and r["channel"] == HANDSHAKE and r["successful"] for r in replies
        ):
            response.set_cookie(COOKIE, secrets.token_urlsafe(16), path="/", secure=True)
        return response

    def _dispatch(self, message: dict, user_id: str) -> dict:
        channel = message.get("channel")
        if channel == HANDSHAKE:
            return self._handshake(message, user_id)
        session = self._sessions.get(str(message.get("clientId")))
        if session is None:
            return self._unknown_client(message)
        session.last_seen = self._monotonic()
        if channel == SUBSCRIBE:
            return self._subscribe(message, session)
        if channel == UNSUBSCRIBE:
            subscription = str(message.get("subscription"))
            session.subscriptions.pop(subscription, None)
            return _success(message, session, subscription=subscription)
        if channel == DISCONNECT:
            self._sessions.pop(session.client_id, None)
            self._wake()
            return _success(message, session)
        return _failure(message, "403::Publish denied")

    def _handshake(self, message: dict, user_id: str) -> dict:
        offered = message.get("supportedConnectionTypes") or []
        if "long-polling" not in offered:
            return _failure(message, "400::Unsupported connection types")
        if self.settings.refuse_handshake:  # an org limit reached, say: no client until it clears
            return _failure(
                message,
                "403::Handshake denied",
                advice={"reconnect": "none"},
                ext={"sfdc": {"failureReason": self.settings.refuse_handshake}},
            )
        client_id = secrets.token_hex(14)
        session = ClientSession(client_id=client_id, user_id=user_id, last_seen=self._monotonic())
        self._sessions[client_id] = session
        return {
            **_success(message, session),
            "version": "1.0",
            "minimumVersion": "1.0",
            "supportedConnectionTypes": ["long-polling"],
            "advice": self._advice(),
            "ext": {"replay": True, "payload.format": True},
        }

    def _subscribe(self, message: dict, session: ClientSession) -> dict:
        subscription = message.get("subscription")
        if not isinstance(subscription, str) or self._channel_entities(subscription) is None:
            return _failure(
                message,
                f"400::The channel you requested to subscribe to does not exist {{{subscription}}}",
                subscription=subscription,
            )
        replay = (message.get("ext") or {}).get("replay")
        wanted = replay.get(subscription, NEW_EVENTS) if isinstance(replay, dict) else NEW_EVENTS
        if wanted == NEW_EVENTS:
            cursor = self._log.last_id()
        elif wanted == ALL_EVENTS:
            cursor = self._log.floor()
        elif isinstance(wanted, int) and not isinstance(wanted, bool):
            if not self._log.is_valid_replay_id(wanted):
                return _failure(message, INVALID_REPLAY % wanted, subscription=subscription)
            cursor = wanted
        else:
            return _failure(message, INVALID_REPLAY % wanted, subscription=subscription)
        session.subscriptions[subscription] = cursor
        self._wake()
        return _success(message, session, subscription=subscription)

    async def _connect(self, message: dict, request: web.Request) -> list[dict | str]:
        session = self._sessions.get(str(message.get("clientId")))
        if session is None:
            return [self._unknown_client(message)]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.timeout_ms / 1000
        first, drops = not session.connected, self._drops
        session.connected = True
        session.connect_seq += 1
        seq = session.connect_seq
        self._wake()  # a connect held for the same client returns now
        session.holding += 1
        try:
            while True:
                signal = self._signal
                if self._sessions.get(session.client_id) is not session:
                    return [self._unknown_client(message)]
                if self._drops != drops and request.transport is not None:
                    self._connects_dropped += 1
                    request.transport.abort()
                    raise asyncio.CancelledError
                events = self._collect(session)
                remaining = deadline - loop.time()
                stale = seq != session.connect_seq
                if events or first or stale or remaining <= 0 or self._closing:
                    return [*events, {**_success(message, session), "advice": self._advice()}]
                try:
                    await asyncio.wait_for(signal.wait(), remaining)
                except TimeoutError:
                    continue
        finally:
            session.holding -= 1
            session.last_seen = self._monotonic()

    # ---- delivery -----------------------------------------------------------------------------
    def _collect(self, session: ClientSession) -> list[str]:
        """Serialized event messages due to ``session`` (oldest first); cursors move past them."""
        if self.settings.paused:
            return []
        due: list[tuple[int, str, str]] = []
        for channel, cursor in session.subscriptions.items():
            entities = self._channel_entities(channel) or ()
            for event in self._log.read_after(
                cursor, entities=entities, limit=MAX_EVENTS_PER_REPLY
            ):
                due.append((event.replay_id, channel, event.data_json))
        due.sort()
        messages: list[str] = []
        for replay_id, channel, data_json in due[:MAX_EVENTS_PER_REPLY]:
            session.subscriptions[channel] = max(session.subscriptions[channel], replay_id)
            text = f'{{"channel": {json.dumps(channel)}, "data": {data_json}}}'
            copies = 2 if self._rng.random() < self.settings.duplicate_rate else 1
            messages.extend([text] * copies)
            self._duplicates += copies - 1
            self._gaps_delivered += copies * _is_gap(data_json)
        self._delivered += len(messages)
        return messages

    def _unknown_client(self, message: dict) -> dict:
        """The reply to a client the server forgot (expired sessions, idle clients)."""
        self._unknown_clients += 1
        return _failure(message, UNKNOWN_CLIENT, advice={"reconnect": "handshake", "interval": 0})

    def _advice(self) -> dict:
        return {"reconnect": "retry", "interval": 0, "timeout": self.settings.timeout_ms}

    def _wake(self) -> None:
        self._signal.set()
        self._signal = asyncio.Event()

    def _wake_soon(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake)

    def _sweep(self) -> None:
        """Forget clients that stopped connecting (Salesforce allows 40 s between connects)."""
        cutoff = self._monotonic() - self._max_interval_s
        for client_id, session in list(self._sessions.items()):
            if session.holding == 0 and session.last_seen < cutoff:
                del self._sessions[client_id]


def number_setting(faults: Mapping[str, object], name: str) -> float | None:
    """The number given for ``name`` in a faults request (None when absent), or ValueError."""
    if name not in faults:
        return None
    value = faults[name]
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{name} must be a number")
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number") from None


def _success(message: dict, session: ClientSession, **extra: object) -> dict:
    reply: dict[str, object] = {"channel": message.get("channel"), "clientId": session.client_id}
    if "id" in message:
        reply["id"] = message["id"]
    return {**reply, **extra, "successful": True}


def _failure(message: dict, error: str, **extra: object) -> dict:
    reply: dict[str, object] = {"channel": message.get("channel")}
    for key in ("id", "clientId"):
        if key in message:
            reply[key] = message[key]
    return {**reply, **extra, "error": error, "successful": False}


def _is_gap(data_json: str) -> bool:
    # The event log writes json.dumps' default separators; inside a string value the quotes
    # would be escaped, so only the header's key can match (no decoding on the delivery path).
    return '"changeType": "GAP_' in data_json


def _json(replies: list[dict | str], *, status: int = 200) -> web.Response:
    parts = (reply if isinstance(reply, str) else json.dumps(reply) for reply in replies)
    return web.Response(
        text="[" + ",".join(parts) + "]", status=status, content_type="application/json"
    )


def setup(app: web.Application, broker: Broker) -> None:
    app.router.add_post(r"/cometd/{version:\d+\.\d+}", broker.handle)
    app.on_shutdown.append(broker.close)
