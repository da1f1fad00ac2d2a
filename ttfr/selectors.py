"""Reads for TTFR: lead facts, and what the local inbox already knows about activity records."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q

from salesforce.models import ChangeEvent
from ttfr.models import LeadFact


def leads_counting_touches(*, touch_ids: Iterable[str]) -> set[str]:
    """Leads whose recorded first response or first automated touch is one of ``touch_ids``."""
    ids = list(set(touch_ids))
    if not ids:
        return set()
    rows = LeadFact.objects.filter(
        Q(first_response_touch_id__in=ids) | Q(automated_touch_id__in=ids)
    ).values_list("lead_id", flat=True)
    return set(rows)


def inbox_field_values(*, entity: str, record_ids: Iterable[str], field: str) -> dict[str, str]:
    """The latest value of ``field`` the inbox saw for each record (a missing key: never seen)."""
    ids = list(set(record_ids))
    if not ids:
        return {}
    found: dict[str, str] = {}
    rows = (
        ChangeEvent.objects.filter(entity=entity, record_id__in=ids)
        .order_by("id")
        .values_list("record_id", "fields")
    )
    for record_id, fields in rows:
        if isinstance(fields, dict) and field in fields:
            found[record_id] = fields[field] or ""
    return found
