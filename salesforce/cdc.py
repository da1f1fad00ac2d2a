"""Parse Change Data Capture messages into flat, validated change records.

A CDC message names one or more records; each becomes one ``ParsedChange`` whose fields are
flattened the way the REST API shows them (``Name.LastName`` → ``LastName``, ``Address.Country`` →
``Country``), so workloads read CDC, polling and reconciliation rows alike.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from salesforce.ids import is_salesforce_id

ENTITIES = ("Lead", "Task", "EmailMessage")
CHANGE_TYPES = frozenset(
    {
        "CREATE",
        "UPDATE",
        "DELETE",
        "UNDELETE",
        "GAP_CREATE",
        "GAP_UPDATE",
        "GAP_DELETE",
        "GAP_UNDELETE",
        "GAP_OVERFLOW",
    }
)
COMPOUND_FIELDS = frozenset({"Name", "Address"})
OWN_CLIENT = "flywheel"
MAX_FIELD_CHARS = 32_000
MAX_REPLAY_ID = 2**63 - 1  # replay ids are stored in a 64-bit integer column


class InvalidChangeEvent(ValueError):
    """The message is not a usable change event; the reason goes to the dead-letter table."""


@dataclass(frozen=True)
class ParsedChange:
    entity: str
    change_type: str
    record_id: str
    fields: dict[str, object]
    changed_fields: list[str]
    commit_timestamp: dt.datetime
    commit_user: str
    change_origin: str
    transaction_key: str
    replay_id: int | None
    is_own_write: bool = False
    channel: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def is_gap(self) -> bool:
        return self.change_type.startswith("GAP_")


def parse_message(message: object, *, channel: str = "") -> list[ParsedChange]:
    """Turn one CometD message into changes; raise InvalidChangeEvent with a reason."""
    if not isinstance(message, dict):
        raise InvalidChangeEvent("message is not a JSON object")
    data = message.get("data")
    if not isinstance(data, dict):
        raise InvalidChangeEvent("message has no 'data' object")
    payload = data.get("payload")
    if not isinstance(payload, dict):
        raise InvalidChangeEvent("message has no 'data.payload' object")
    header = payload.get("ChangeEventHeader")
    if not isinstance(header, dict):
        raise InvalidChangeEvent("payload has no ChangeEventHeader")
    event = data.get("event") if isinstance(data.get("event"), dict) else {}
    replay_id = event.get("replayId")
    if replay_id is not None and (not isinstance(replay_id, int) or isinstance(replay_id, bool)):
        raise InvalidChangeEvent(f"replayId is not an integer: {replay_id!r}")
    if replay_id is not None and not 0 <= replay_id <= MAX_REPLAY_ID:
        raise InvalidChangeEvent(f"replayId out of range: {replay_id!r}")

    entity = header.get("entityName")
    if entity not in ENTITIES:
        raise InvalidChangeEvent(f"unsupported entity {entity!r}")
    change_type = header.get("changeType")
    if not isinstance(change_type, str) or change_type not in CHANGE_TYPES:
        raise InvalidChangeEvent(f"unknown changeType {change_type!r}")
    record_ids = header.get("recordIds")
    if not isinstance(record_ids, list) or not record_ids:
        raise InvalidChangeEvent("recordIds is missing or empty")
    if change_type != "GAP_OVERFLOW":
        bad = [rid for rid in record_ids if not is_salesforce_id(rid)]
        if bad:
            raise InvalidChangeEvent(f"malformed record id(s): {bad[:3]!r}")

    commit_timestamp = _commit_time(header.get("commitTimestamp"))
    origin = header.get("changeOrigin") or ""
    if not isinstance(origin, str):
        raise InvalidChangeEvent("changeOrigin is not a string")
    changed = header.get("changedFields") or []
    if not isinstance(changed, list):
        raise InvalidChangeEvent("changedFields is not a list")
    fields = flatten_fields(payload)
    common = {
        "entity": entity,
        "change_type": change_type,
        "fields": fields,
        "changed_fields": [_flat_name(_text(name)) for name in changed],
        "commit_timestamp": commit_timestamp,
        "commit_user": _text(header.get("commitUser") or "")[:18],
        "change_origin": _text(origin)[:255],
        "transaction_key": _text(header.get("transactionKey") or "")[:64],
        "replay_id": replay_id,
        "is_own_write": is_own_origin(origin),
        "channel": channel or str(message.get("channel") or ""),
    }
    return [ParsedChange(record_id=str(rid)[:18], **common) for rid in record_ids]


def flatten_fields(payload: dict) -> dict[str, object]:
    """Copy the record's fields out of a CDC payload, lifting compound fields to the top level."""
    flat: dict[str, object] = {}
    for name, value in payload.items():
        if name == "ChangeEventHeader":
            continue
        if name in COMPOUND_FIELDS and isinstance(value, dict):
            for part, part_value in value.items():
                flat[_text(part)] = storable(part_value)
            continue
        flat[_text(name)] = storable(value)
    return flat


def storable(value: object) -> object:
    """``value`` with every string bounded and free of NUL characters, which PostgreSQL refuses
    in text and JSON columns (one such character would fail the whole batch)."""
    if isinstance(value, str):
        return _text(value)[:MAX_FIELD_CHARS]
    if isinstance(value, dict):
        return {_text(str(key)): storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [storable(item) for item in value]
    return value


def is_own_origin(change_origin: str) -> bool:
    """True when the change was made by this app (``client=flywheel`` in changeOrigin)."""
    for part in change_origin.split(";"):
        key, _, value = part.partition("=")
        if key.strip() == "client" and value.strip() == OWN_CLIENT:
            return True
    return False


def _flat_name(name: str) -> str:
    head, _, tail = name.partition(".")
    return tail if head in COMPOUND_FIELDS and tail else name


def _text(value: object) -> str:
    return str(value).replace("\x00", "")


def _commit_time(value: object) -> dt.datetime:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidChangeEvent(f"commitTimestamp is not a number: {value!r}")
    try:
        return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise InvalidChangeEvent(f"commitTimestamp out of range: {value!r}") from error
