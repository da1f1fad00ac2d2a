"""Reads for TTFR: lead facts, and what the local inbox already knows about activity records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Q, QuerySet

from salesforce.models import ChangeEvent
from ttfr.models import BackfillCheckpoint, LeadFact, SlaBreach


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


def lead_facts_list(
    *, created_from: dt.datetime, created_to: dt.datetime, include_deleted: bool = False
) -> QuerySet[LeadFact]:
    """Facts of leads created in [created_from, created_to) (uses the created_at indexes)."""
    facts = LeadFact.objects.filter(created_at__gte=created_from, created_at__lt=created_to)
    return facts if include_deleted else facts.filter(is_deleted=False)


def sla_breaches_recent(*, since: dt.datetime) -> QuerySet[SlaBreach]:
    return SlaBreach.objects.filter(detected_at__gte=since).order_by("-detected_at")


def backfill_unfinished_get() -> BackfillCheckpoint | None:
    """The latest backfill run that stopped before the end (it resumes from its checkpoint)."""
    return (
        BackfillCheckpoint.objects.filter(finished_at__isnull=True, last_created_at__isnull=False)
        .order_by("-started_at", "-id")
        .first()
    )
