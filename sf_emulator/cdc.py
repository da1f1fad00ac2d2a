"""Change Data Capture: every committed record change becomes a Salesforce change event.

Events of Lead, Task and EmailMessage are numbered with replay ids that only grow (across
restarts too), kept in SQLite in the org's state directory for the retention window (72 h by
default, measured with the org's clock) and delivered over CometD by :mod:`sf_emulator.cometd` on
``/data/<Entity>ChangeEvent`` and ``/data/ChangeEvents``.

Stream faults (``POST /__emulator__/stream`` or the ``"stream"`` member of ``/__emulator__/faults``)
take one JSON object; every key is optional::

    {"drop": true,                 # close every held connect: clients reconnect
     "expire_sessions": true,      # forget CometD clients: 403::Unknown client, re-handshake
     "pause": true | false,        # hold deliveries (events still get replay ids) / resume
     "refuse_handshake": "403::Organization concurrent user limit exceeded",
                                   # deny every handshake with that failureReason / null: accept
     "duplicate_rate": 0.3,        # share of deliveries sent twice
     "gap_next": 3,                # the next 3 changes arrive as GAP_<type> (header only)
     "gap": {"record_ids": [...], "change_type": "GAP_UPDATE"},   # emit gap events now
     "overflow": "Lead",           # emit a GAP_OVERFLOW event for Lead now
     "selected_entities": ["Lead", "Task"],   # entities selected for CDC (default: all three);
                                   # the others publish nothing (Tooling API: sf_emulator.tooling)
     "advice_timeout_ms": 2000,    # how long connects are held (advice.timeout)
     "retention_hours": 72,        # replay window
     "clear": true}                # back to defaults first
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import random
import sqlite3
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from aiohttp import web

from sf_emulator import cometd
from sf_emulator.changes import RecordChange
from sf_emulator.ids import is_valid_id, sobject_for_id, to_18

if TYPE_CHECKING:
    from sf_emulator.org import Org

ENTITIES = ("Lead", "Task", "EmailMessage")
ALL_CHANGES_CHANNEL = "/data/ChangeEvents"
EVENTS_FILE = "events.sqlite3"
DEFAULT_RETENTION = dt.timedelta(hours=72)
OVERFLOW_RECORD_ID = "000000000000000AAA"
API_ORIGIN = "com/salesforce/api/rest/59.0"
UI_ORIGIN = "com/salesforce/ui"
GAP_TYPES = ("GAP_CREATE", "GAP_UPDATE", "GAP_DELETE", "GAP_UNDELETE", "GAP_OVERFLOW")
_COMPOUND: dict[str, dict[str, tuple[str, ...]]] = {
    "Lead": {
        "Name": ("Salutation", "FirstName", "LastName"),
        "Address": ("Street", "City", "State", "PostalCode", "Country", "CountryCode"),
    },
}
_DERIVED = {"Lead": frozenset({"Name"})}
_NOT_IN_PAYLOAD = frozenset({"Id", "IsDeleted", "SystemModstamp"})
_COMMIT_BASE = 10_000_000_000


def channel_for(entity: str) -> str:
    return f"/data/{entity}ChangeEvent"


def entities_for(channel: str) -> tuple[str, ...] | None:
    """The entities a channel carries, or None for a channel this org does not have."""
    if channel == ALL_CHANGES_CHANNEL:
        return ENTITIES
    for entity in ENTITIES:
        if channel == channel_for(entity):
            return (entity,)
    return None


def schema_id(entity: str) -> str:
    """A stable 22-character schema id per entity, shaped like Salesforce's."""
    digest = hashlib.sha256(f"cdc-schema:{entity}".encode()).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def cdc_value(value: object) -> object:
    """A stored value as CDC JSON shows it (datetimes ``2024-01-01T12:00:00.000Z``)."""
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def change_origin(change: RecordChange, *, integration_user_id: str) -> str:
    """API writes (the integration user, or any caller naming a client) vs. UI users' writes."""
    if change.client:
        return f"{API_ORIGIN};client={change.client}"
    if change.user_id == integration_user_id:
        return API_ORIGIN
    return UI_ORIGIN


def payload_fields(entity: str, fields: Mapping[str, object]) -> tuple[dict[str, object], list]:
    """CDC payload fields (compound fields nested) and the matching changedFields names."""
    compound = _COMPOUND.get(entity, {})
    derived = _DERIVED.get(entity, frozenset())
    part_of = {part: name for name, parts in compound.items() for part in parts}
    payload: dict[str, object] = {}
    names: list[str] = []
    for name, value in fields.items():
        if name in _NOT_IN_PAYLOAD or name in derived:
            continue
        parent = part_of.get(name)
        if parent is None:
            payload[name] = cdc_value(value)
            names.append(name)
            continue
        nested = payload.setdefault(parent, {})
        assert isinstance(nested, dict)
        nested[name] = cdc_value(value)
        names.append(f"{parent}.{name}")
    return payload, names


@dataclass(frozen=True)
class Header:
    """What a change event's ChangeEventHeader says, before it gets a replay id."""

    entity: str
    record_ids: tuple[str, ...]
    change_type: str
    origin: str
    transaction_key: str
    sequence_number: int
    commit_timestamp_ms: int
    commit_user: str


def event_data(
    header: Header, *, replay_id: int, commit_number: int, fields: Mapping[str, object]
) -> dict:
    """The ``data`` member of a CometD change event message."""
    payload, names = payload_fields(header.entity, fields)
    nulled = [
        name for name, value in zip(names, _flat_values(payload), strict=True) if value is None
    ]
    event_header = {
        "entityName": header.entity,
        "recordIds": list(header.record_ids),
        "changeType": header.change_type,
        "changeOrigin": header.origin,
        "transactionKey": header.transaction_key,
        "sequenceNumber": header.sequence_number,
        "commitTimestamp": header.commit_timestamp_ms,
        "commitNumber": commit_number,
        "commitUser": header.commit_user,
        "changedFields": names if header.change_type == "UPDATE" else [],
        "nulledFields": nulled if header.change_type == "UPDATE" else [],
        "diffFields": [],
    }
    return {
        "schema": schema_id(header.entity),
        "payload": {"ChangeEventHeader": event_header, **payload},
        "event": {"replayId": replay_id},
    }


def _flat_values(payload: dict[str, object]) -> list[object]:
    values: list[object] = []
    for value in payload.values():
        values.extend(value.values() if isinstance(value, dict) else [value])
    return values


class Delivery(Protocol):
    """What the event log needs from the CometD side (``cometd.Broker``)."""

    def notify(self) -> None: ...

    def apply_faults(self, faults: Mapping[str, object]) -> None: ...

    def reset(self) -> None: ...

    def stats(self) -> dict[str, object]: ...


@dataclass(frozen=True)
class StoredEvent:
    replay_id: int
    entity: str
    data_json: str


class EventLog:
    """The org's change events: numbered, persisted, retained, replayable (``org.events``)."""

    def __init__(
        self,
        *,
        path: Path,
        clock: Callable[[], dt.datetime],
        integration_user_id: str,
        retention: dt.timedelta = DEFAULT_RETENTION,
    ) -> None:
        self._clock = clock
        self._integration_user_id = integration_user_id
        self.retention = retention
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.executescript(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
            "CREATE TABLE IF NOT EXISTS events (replay_id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " entity TEXT NOT NULL, created_ms INTEGER NOT NULL, data TEXT NOT NULL);"
            "CREATE INDEX IF NOT EXISTS events_created ON events (created_ms);"
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
        )
        self._last_id = self._meta("last_id")
        self._floor = self._meta("floor")
        self._transaction: tuple[str, int] = ("", 0)
        self._gap_next = 0
        self._published = 0
        self.delivery: Delivery | None = None
        self.selected: frozenset[str] = frozenset(ENTITIES)  # Setup → Change Data Capture

    # ---- publishing ---------------------------------------------------------------------------
    def on_change(self, change: RecordChange) -> None:
        """Store subscriber: publish the change if its entity is selected for CDC."""
        if change.entity not in self.selected:
            return
        header = Header(
            entity=change.entity,
            record_ids=(to_18(change.record_id),),
            change_type=change.change_type,
            origin=change_origin(change, integration_user_id=self._integration_user_id),
            transaction_key=change.transaction_key,
            sequence_number=change.sequence_number,
            commit_timestamp_ms=change.commit_timestamp_ms,
            commit_user=change.user_id,
        )
        fields: Mapping[str, object] = change.fields
        with self._lock:
            if self._gap_next > 0:
                self._gap_next -= 1
                header = _as_gap(header, f"GAP_{change.change_type}")
                fields = {}
        self.publish(header, fields)

    def publish(self, header: Header, fields: Mapping[str, object]) -> int:
        """Number, persist and announce one event; return its replay id."""
        with self._lock:
            replay_id = self._last_id + 1
            key, number = self._transaction
            if key != header.transaction_key or not key:
                number = _COMMIT_BASE + replay_id
                self._transaction = (header.transaction_key, number)
            data = event_data(header, replay_id=replay_id, commit_number=number, fields=fields)
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT INTO events (replay_id, entity, created_ms, data) VALUES (?, ?, ?, ?)",
                (replay_id, header.entity, header.commit_timestamp_ms, json.dumps(data)),
            )
            self._set_meta("last_id", replay_id)
            self._db.execute("COMMIT")
            self._last_id = replay_id
            self._published += 1
        if self.delivery is not None:
            self.delivery.notify()
        return replay_id

    def emit_gap(
        self, *, change_type: str, record_ids: list[str], entity: str | None = None
    ) -> int:
        """Publish one header-only gap event now (``GAP_OVERFLOW`` names no real record)."""
        if change_type not in GAP_TYPES:
            raise ValueError(f"change_type must be one of {', '.join(GAP_TYPES)}")
        if change_type == "GAP_OVERFLOW":
            record_ids = [OVERFLOW_RECORD_ID]
        elif not record_ids or not all(is_valid_id(rid) for rid in record_ids):
            raise ValueError("gap events need valid record_ids")
        else:
            record_ids = [to_18(rid) for rid in record_ids]
        entity = entity or sobject_for_id(record_ids[0])
        if entity not in ENTITIES:
            raise ValueError(f"no change events for {entity}")
        now_ms = int(self._clock().timestamp() * 1000)
        header = Header(
            entity=entity,
            record_ids=tuple(record_ids),
            change_type=change_type,
            origin="",
            transaction_key=str(uuid.uuid4()),
            sequence_number=1,
            commit_timestamp_ms=now_ms,
            commit_user=self._integration_user_id,
        )
        return self.publish(header, {})

    # ---- reading ------------------------------------------------------------------------------
    @property
    def published(self) -> int:
        return self._published

    def last_id(self) -> int:
        return self._last_id

    def floor(self) -> int:
        """Replay ids at or above this (up to the last id) can still be resumed from."""
        self.purge()
        return self._floor

    def is_valid_replay_id(self, replay_id: int) -> bool:
        return self.floor() <= replay_id <= self._last_id

    def read_after(
        self, replay_id: int, *, entities: tuple[str, ...], limit: int
    ) -> list[StoredEvent]:
        """Retained events of ``entities`` with a replay id above ``replay_id``, oldest first."""
        self.purge()
        marks = ",".join("?" * len(entities))
        with self._lock:
            rows = self._db.execute(
                f"SELECT replay_id, entity, data FROM events WHERE replay_id > ? "
                f"AND entity IN ({marks}) ORDER BY replay_id LIMIT ?",
                (max(replay_id, self._floor), *entities, limit),
            ).fetchall()
        return [StoredEvent(*row) for row in rows]

    def purge(self) -> None:
        """Forget events older than the retention window."""
        cutoff = int((self._clock() - self.retention).timestamp() * 1000)
        with self._lock:
            oldest = self._db.execute(
                "SELECT created_ms FROM events ORDER BY replay_id LIMIT 1"
            ).fetchone()
            if oldest is None or oldest[0] >= cutoff:
                return
            (newest_old,) = self._db.execute(
                "SELECT MAX(replay_id) FROM events WHERE created_ms < ?", (cutoff,)
            ).fetchone()
            if newest_old is not None:
                self._forget_through(newest_old)

    def reset(self) -> None:
        """Org reset: no event stays replayable, faults and settings go back to defaults."""
        with self._lock:
            self._forget_through(self._last_id)
        self.reset_faults()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ---- faults and stats ---------------------------------------------------------------------
    def apply_faults(self, faults: Mapping[str, object]) -> dict[str, object]:
        """Apply stream faults and settings (see the module docstring); return ``stats()``."""
        if not isinstance(faults, Mapping):
            raise ValueError("stream faults must be a JSON object")
        if faults.get("clear"):
            self.reset_faults()
        hours = cometd.number_setting(faults, "retention_hours")
        if hours is not None:
            self.retention = dt.timedelta(hours=hours)
        gap_next = cometd.number_setting(faults, "gap_next")
        if gap_next is not None:
            with self._lock:
                self._gap_next = max(0, int(gap_next))
        gap = faults.get("gap")
        if isinstance(gap, Mapping):
            self.emit_gap(
                change_type=str(gap.get("change_type") or "GAP_UPDATE"),
                record_ids=list(gap.get("record_ids") or []),
                entity=gap.get("entity"),  # type: ignore[arg-type]
            )
        if "selected_entities" in faults:
            self.selected = _selection(faults["selected_entities"])
        if faults.get("overflow"):
            self.emit_gap(change_type="GAP_OVERFLOW", record_ids=[], entity=str(faults["overflow"]))
        if self.delivery is not None:
            self.delivery.apply_faults(faults)
        return self.stats()

    def reset_faults(self) -> None:
        with self._lock:
            self._gap_next = 0
        self.selected = frozenset(ENTITIES)
        self.retention = DEFAULT_RETENTION
        if self.delivery is not None:
            self.delivery.reset()

    def stats(self) -> dict[str, object]:
        body: dict[str, object] = {
            "events_published": self._published,
            "last_replay_id": self._last_id,
            "oldest_replayable_id": self.floor(),
            "retention_hours": self.retention.total_seconds() / 3600,
            "gap_next": self._gap_next,
            "selected_entities": sorted(self.selected),
        }
        if self.delivery is not None:
            body.update(self.delivery.stats())
        return body

    # ---- internals ----------------------------------------------------------------------------
    def _forget_through(self, replay_id: int) -> None:
        self._db.execute("BEGIN")
        self._db.execute("DELETE FROM events WHERE replay_id <= ?", (replay_id,))
        self._floor = max(self._floor, replay_id)
        self._set_meta("floor", self._floor)
        self._db.execute("COMMIT")

    def _meta(self, key: str) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else 0

    def _set_meta(self, key: str, value: int) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def _selection(value: object) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError("selected_entities must be a list of entity names")
    if unknown := set(value) - set(ENTITIES):
        raise ValueError(
            f"selected_entities: no change events for {', '.join(sorted(unknown))} "
            f"(known: {', '.join(ENTITIES)})"
        )
    return frozenset(value)


def _as_gap(header: Header, change_type: str) -> Header:
    return Header(**{**asdict(header), "change_type": change_type})


# ---- wiring ---------------------------------------------------------------------------------------
EVENTS_KEY = web.AppKey("cdc_events", EventLog)


def install(app: web.Application, org: Org) -> EventLog:
    """Give ``org`` its change-event log and mount CometD and ``/__emulator__/stream``."""
    log = EventLog(
        path=Path(org.state_dir) / EVENTS_FILE,
        clock=lambda: org.clock(),
        integration_user_id=org.integration_user_id,
    )
    broker = cometd.Broker(
        log=log,
        channel_entities=entities_for,
        validate=org.sessions.validate,
        rng=random.Random(org.seed),
    )
    log.delivery = broker
    org.events = log
    org.store.subscribe(log.on_change)
    org.reset_hooks.append(log.reset)
    app[EVENTS_KEY] = log
    cometd.setup(app, broker)
    app.router.add_post("/__emulator__/stream", _stream_faults)
    app.router.add_get("/__emulator__/stream", _stream_stats)
    app.on_cleanup.append(_close)
    return log


async def _stream_faults(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:
        raise ValueError("expected a JSON object") from None
    return web.json_response(request.app[EVENTS_KEY].apply_faults(body))


async def _stream_stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[EVENTS_KEY].stats())


async def _close(app: web.Application) -> None:
    app[EVENTS_KEY].close()
