"""Reads for routing: the active policy, rep availability, open-lead counts, cursors, ledger."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Count

from routing.choices import PolicyStatus
from routing.engine.distribute import RepHours
from routing.engine.policy import CompiledPolicy, compiled_cached
from routing.models import Assignment, PoolCursor, Rep, RoutingPolicy


class NoActivePolicy(LookupError):
    """No routing policy has been published yet (run manage.py load_config)."""


def policy_active_get() -> RoutingPolicy:
    policy = RoutingPolicy.objects.filter(is_active=True).first()
    if policy is None:
        raise NoActivePolicy("No published routing policy: run `manage.py load_config`.")
    return policy


def policy_active_compiled() -> CompiledPolicy:
    """The active policy, compiled; its snapshot is only read when this process has not
    compiled that version yet (routing asks for it on every batch)."""
    active = RoutingPolicy.objects.filter(is_active=True)
    row = active.values_list("pk", "version", "content_hash").first()
    if row is None:
        raise NoActivePolicy("No published routing policy: run `manage.py load_config`.")
    pk, version, content_hash = row
    return compiled_cached(
        version=version,
        content_hash=content_hash,
        snapshot=lambda: RoutingPolicy.objects.values_list("snapshot", flat=True).get(pk=pk),
    )


def policy_get(*, version: int) -> RoutingPolicy:
    try:
        return RoutingPolicy.objects.get(version=version, status=PolicyStatus.PUBLISHED)
    except RoutingPolicy.DoesNotExist:
        raise NoActivePolicy(f"There is no published routing policy version {version}.") from None


def rep_hours_map() -> dict[str, RepHours]:
    return {
        rep.user_id: RepHours(
            time_zone=rep.time_zone,
            start=rep.work_start,
            end=rep.work_end,
            days=frozenset(rep.work_days),
            out_of_office=rep.out_of_office,
            out_of_office_until=rep.out_of_office_until,
            is_active=rep.is_active,
        )
        for rep in Rep.objects.all()
    }


def open_lead_counts(*, since: dt.datetime) -> dict[str, int]:
    """Leads per current owner (routed, kept or reassigned by a human) since ``since``."""
    rows = (
        Assignment.objects.filter(created_at__gte=since)
        .exclude(current_owner_id="")
        .values_list("current_owner_id")
        .annotate(n=Count("id"))
    )
    return dict(rows)


def cursor_map() -> dict[str, int]:
    return dict(PoolCursor.objects.values_list("pool_name", "position"))


def assignments_by_lead(*, lead_ids: Iterable[str]) -> dict[str, Assignment]:
    return {a.lead_id: a for a in Assignment.objects.filter(lead_id__in=list(lead_ids))}


def recent_lead_fields(*, since: dt.datetime, limit: int = 20_000) -> list[dict]:
    """Fields of leads created since ``since``, from the local inbox (latest event per lead)."""
    from salesforce.models import ChangeEvent

    events = (
        ChangeEvent.objects.filter(
            entity="Lead", change_type__in=("CREATE", "GAP_CREATE"), commit_timestamp__gte=since
        )
        .order_by("-id")
        .values_list("record_id", "fields")[:limit]
    )
    latest: dict[str, dict] = {}
    for record_id, fields in events:
        latest.setdefault(record_id, {"Id": record_id, **(fields or {})})
    return list(reversed(latest.values()))
