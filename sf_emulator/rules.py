"""Per-object write rules: field checks, defaults, required fields and derived fields."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sf_emulator.errors import SalesforceError
from sf_emulator.schema import SCHEMA, canonical_field
from sf_emulator.values import coerce_input

_DERIVED: dict[str, frozenset[str]] = {
    "Lead": frozenset(("IsDeleted", "Name")),
    "User": frozenset(("IsDeleted", "Name")),
    "Task": frozenset(("IsDeleted", "IsClosed")),
}
_ALWAYS_DERIVED = frozenset(("IsDeleted",))
_DEFAULTS: dict[str, dict[str, object]] = {
    "Lead": {
        "Status": "Open - Not Contacted",
        "IsConverted": False,
        "IsUnreadByOwner": True,
        "HasOptedOutOfEmail": False,
    },
    "Task": {"Status": "Not Started", "Priority": "Normal", "TaskSubtype": "Task"},
    "EmailMessage": {"Incoming": False, "Status": "0"},
    "User": {"IsActive": True, "UserType": "Standard"},
    "Group": {"Type": "Regular"},
}
_OWNED = frozenset(("Lead", "Task"))
_CLOSED_TASK_STATUSES = frozenset(("Completed",))


def clean_fields(
    sobject: str, fields: Mapping[str, object], *, system: bool, creating: bool
) -> dict[str, object]:
    """Canonical field names mapped to stored values; raise SalesforceError on the first problem.

    ``system`` writes (seeding, human edits through the control API) may set the read-only system
    fields; derived fields (Name, IsClosed) are never writable.
    """
    named: dict[str, object] = {}
    for key, value in fields.items():
        if key == "attributes":
            continue
        name = canonical_field(sobject, key) if isinstance(key, str) else None
        if name is None:
            raise SalesforceError(
                400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {sobject}"
            )
        named[name] = value
    if not creating:
        named.pop("Id", None)
    _reject_readonly(sobject, named, system=system, creating=creating)
    infos = SCHEMA[sobject]
    return {name: coerce_input(sobject, infos[name], value) for name, value in named.items()}


def _reject_readonly(
    sobject: str, named: Mapping[str, object], *, system: bool, creating: bool
) -> None:
    infos = SCHEMA[sobject]
    blocked = []
    for name in named:
        info = infos[name]
        if name == "Id":
            allowed = system and creating
        elif name in _DERIVED.get(sobject, _ALWAYS_DERIVED):
            allowed = False
        else:
            allowed = system or (info.createable if creating else info.updateable)
        if not allowed:
            blocked.append(name)
    if blocked:
        raise SalesforceError(
            400,
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(blocked)}. Please check the security "
            "settings of this field and verify that it is read/write for your profile or "
            "permission set.",
            blocked,
        )


def apply_defaults(sobject: str, values: dict[str, object], *, user_id: str) -> None:
    for name, value in _DEFAULTS.get(sobject, {}).items():
        if values.get(name) is None:
            values[name] = value
    if sobject in _OWNED and values.get("OwnerId") is None:
        values["OwnerId"] = user_id


def check_required(sobject: str, record: Mapping[str, object]) -> None:
    """Required fields must hold a value (on create, and after an update)."""
    missing = [
        name
        for name, info in SCHEMA[sobject].items()
        if (info.required_on_create or (not info.nillable and info.createable))
        and record.get(name) in (None, "")
        and info.type != "boolean"
    ]
    if missing:
        raise SalesforceError(
            400,
            "REQUIRED_FIELD_MISSING",
            f"Required fields are missing: [{', '.join(missing)}]",
            missing,
        )


def derive(
    sobject: str, record: dict[str, object], *, previous: Mapping[str, object], now: dt.datetime
) -> None:
    """Fill the fields Salesforce computes: compound names and task completion."""
    if sobject in ("Lead", "User"):
        parts = (record.get("FirstName"), record.get("LastName"))
        record["Name"] = " ".join(str(part) for part in parts if part) or None
    if sobject == "Task":
        closed = record.get("Status") in _CLOSED_TASK_STATUSES
        record["IsClosed"] = closed
        if closed and record.get("CompletedDateTime") is None:
            record["CompletedDateTime"] = now
        if not closed and previous.get("IsClosed"):
            record["CompletedDateTime"] = None
