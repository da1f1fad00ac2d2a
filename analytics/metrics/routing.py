"""Routing metrics from the assignment ledger and the inbox."""

from __future__ import annotations

import datetime as dt

from django.db.models import (
    Count,
    DateTimeField,
    F,
    FloatField,
    Func,
    OuterRef,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, Greatest, TruncDate

from analytics.dashboard import Dashboard, Table, bar, line, pie
from analytics.filters import Filters
from analytics.metrics.aggregates import Percentiles, split
from analytics.metrics.common import pct, ratio, rounded
from routing.choices import AssignmentStatus
from routing.models import Assignment, RoutingPolicy
from salesforce.models import ChangeEvent

ROUTED = (AssignmentStatus.WRITTEN, AssignmentStatus.OVERRIDDEN)


def assignments(filters: Filters):
    queryset = Assignment.objects.filter(
        created_at__gte=filters.start_at, created_at__lt=filters.end_at
    )
    if filters.segment:
        queryset = queryset.filter(segment=filters.segment)
    if filters.region:
        queryset = queryset.filter(region=filters.region)
    if filters.owner:
        queryset = queryset.filter(owner_id=filters.owner)
    return queryset


class _Seconds(Func):
    """A datetime difference as float seconds, computed by the database (PostgreSQL: an
    interval's epoch; SQLite: Django's microseconds), so no datetime crosses into Python."""

    output_field = FloatField()
    template = "EXTRACT(EPOCH FROM %(expressions)s)::float8"

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, template="(%(expressions)s / 1000000.0)", **extra_context
        )


def latencies(queryset):
    """The written leads of ``queryset`` whose commit time is known, annotated with
    ``seconds``: from the Salesforce commit of the lead to the owner write (0 for an owner
    written before the commit time).

    The commit time is stored on the assignment when it is made; for a row without one the
    database looks it up on the change event (a primary-key lookup that ``COALESCE`` skips
    for every other row). No datetime crosses into Python."""
    event_commit = ChangeEvent.objects.filter(pk=OuterRef("event_id")).values("commit_timestamp")
    committed = Coalesce(
        F("event_committed_at"), Subquery(event_commit[:1], output_field=DateTimeField())
    )
    # the unknown commits are filtered out, not left to GREATEST: PostgreSQL's GREATEST skips
    # a NULL argument (it would turn an unknown latency into 0), SQLite's returns NULL
    return (
        queryset.filter(written_at__isnull=False)
        .annotate(committed_at=committed)
        .filter(committed_at__isnull=False)
        .annotate(seconds=Greatest(_Seconds(F("written_at") - F("committed_at")), Value(0.0)))
    )


def latency_seconds(queryset) -> list[float]:
    """Seconds from commit to owner write, one value per routed lead with a known commit."""
    return list(latencies(queryset).values_list("seconds", flat=True))


def grouped(queryset, field: str) -> list[list[object]]:
    """Assignments per value of ``field``, most first, ties in value order."""
    return [
        [row[field] or "(none)", row["n"]]
        for row in queryset.values(field).annotate(n=Count("id")).order_by("-n", field)
    ]


def routing_summary(filters: Filters) -> dict:
    """Headline routing figures for the range: counts, latency percentiles, override rate."""
    queryset = assignments(filters)
    by_status = dict(queryset.values_list("status").annotate(n=Count("id")))
    routed = sum(by_status.get(status, 0) for status in ROUTED)
    latency = latencies(queryset).aggregate(p=Percentiles("seconds", (0.5, 0.95)))
    p50, p95 = split(latency["p"], 2)
    return {
        "assignments": sum(by_status.values()),
        "routed": routed,
        "by_status": by_status,
        "latency_p50_seconds": rounded(p50, 3),
        "latency_p95_seconds": rounded(p95, 3),
        "override_rate": ratio(by_status.get(AssignmentStatus.OVERRIDDEN, 0), routed),
        "failed": by_status.get(AssignmentStatus.FAILED, 0),
    }


def leads_per_day(queryset) -> dict[str, int]:
    """Assignments per UTC day (``YYYY-MM-DD``), oldest first, counted by the database."""
    rows = (
        queryset.annotate(day=TruncDate("created_at", tzinfo=dt.UTC))
        .values_list("day")
        .annotate(n=Count("id"))
        .order_by("day")
    )
    return {day.isoformat(): n for day, n in rows}


def routing_dashboard(filters: Filters) -> Dashboard:
    queryset = assignments(filters)
    figures = routing_summary(filters)
    per_day = leads_per_day(queryset)
    active = RoutingPolicy.objects.filter(is_active=True).values_list("version", flat=True).first()
    segments = grouped(queryset, "segment")
    regions = grouped(queryset, "region")
    owners = grouped(queryset, "current_owner_id")
    return Dashboard(
        title="Routing",
        is_empty=figures["assignments"] == 0,
        kpis=[
            ("Leads routed", figures["routed"]),
            ("Assignments", figures["assignments"]),
            ("Median event→owner (s)", figures["latency_p50_seconds"]),
            ("P95 event→owner (s)", figures["latency_p95_seconds"]),
            ("Human override rate", pct(figures["override_rate"])),
            ("Failed writes (retrying)", figures["failed"]),
            ("Policy version in force", active if active is not None else "-"),
        ],
        charts=[
            line(
                "per_day",
                "Leads routed per day",
                list(per_day),
                {"leads": list(per_day.values())},
            ),
            pie("by_segment", "By segment", [r[0] for r in segments], [r[1] for r in segments]),
            pie("by_region", "By region", [r[0] for r in regions], [r[1] for r in regions]),
            bar(
                "by_owner",
                "Leads per owner",
                [r[0] for r in owners[:30]],
                [r[1] for r in owners[:30]],
            ),
        ],
        tables=[
            Table("by_segment", "By segment", ["segment", "leads"], segments),
            Table("by_region", "By region", ["region", "leads"], regions),
            Table("by_owner", "By owner", ["owner", "leads"], owners),
            Table(
                "by_status",
                "By status",
                ["status", "leads"],
                [[k, v] for k, v in sorted(figures["by_status"].items())],
            ),
        ],
    )
