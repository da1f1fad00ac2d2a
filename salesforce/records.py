"""Turn REST query records into inbox changes (polling and reconciliation share this)."""

from __future__ import annotations

import datetime as dt

from salesforce.cdc import ParsedChange

CREATE_TOLERANCE = dt.timedelta(seconds=2)


def soql_datetime(value: dt.datetime) -> str:
    """A SOQL datetime literal (UTC, no quotes)."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_sf_datetime(value: object) -> dt.datetime | None:
    """Salesforce REST datetimes look like 2024-01-01T12:00:00.000+0000."""
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00")
    if len(text) >= 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def change_from_record(
    entity: str, record: dict, *, integration_user_id: str, change_type: str | None = None
) -> ParsedChange:
    """A change row for a record read through the REST API.

    Without CDC there is no changeType: a record whose last modification is its creation is a
    CREATE, anything else an UPDATE whose author is LastModifiedById.
    """
    fields = {key: value for key, value in record.items() if key != "attributes"}
    created = parse_sf_datetime(fields.get("CreatedDate"))
    modified = parse_sf_datetime(fields.get("LastModifiedDate")) or created
    stamp = parse_sf_datetime(fields.get("SystemModstamp")) or modified or dt.datetime.now(dt.UTC)
    if change_type is None:
        is_create = (
            created is not None and modified is not None and modified - created <= CREATE_TOLERANCE
        )
        change_type = "CREATE" if is_create else "UPDATE"
    author = str(fields.get("LastModifiedById") or fields.get("CreatedById") or "")
    return ParsedChange(
        entity=entity,
        change_type=change_type,
        record_id=str(fields["Id"]),
        fields=fields,
        changed_fields=[],
        commit_timestamp=stamp,
        commit_user=author[:18],
        change_origin="",
        transaction_key="",
        replay_id=None,
        is_own_write=change_type == "UPDATE" and author[:15] == integration_user_id[:15],
    )
