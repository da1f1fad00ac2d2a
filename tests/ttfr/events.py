"""ChangeEvent rows as the listener stores them."""

from __future__ import annotations

import datetime as dt

from salesforce.models import ChangeEvent


def event(
    entity: str,
    change: str,
    record_id: str,
    fields: dict | None = None,
    *,
    own: bool = False,
    changed: list[str] | None = None,
) -> ChangeEvent:
    return ChangeEvent.objects.create(
        entity=entity,
        change_type=change,
        record_id=record_id,
        fields=fields or {},
        changed_fields=changed or [],
        commit_timestamp=dt.datetime.now(dt.UTC),
        is_own_write=own,
    )
