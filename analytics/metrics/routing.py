"""Routing metrics from the assignment ledger and the inbox."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, F, FloatField, Func, OuterRef, Subquery
from django.db.models.functions import TruncDate

from analytics.dashboard import Dashboard, Table, bar, line, pie
from analytics.filters import Filters
from analytics.metrics.common import pct, percentile, ratio
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


def latency_seconds(queryset) -> list[float]:
    """Seconds from the Salesforce commit of the lead to the owner write, per routed lead.

    One query whatever the range: the commit time comes from a correlated subquery on the
    event's primary key (not a second query listing every event id of the range) and the
    difference is computed in SQL."""
    commit = ChangeEvent.objects.filter(pk=OuterRef("event_id")).values("commit_timestamp")[:1]
    return [
        max(0.0, seconds)
        for seconds in queryset.filter(written_at__isnull=False, event_id__isnull=False)
        .annotate(commit_at=Subquery(commit))
        .filter(commit_at__isnull=False)
        .annotate(seconds=_Seconds(F("written_at") - F("commit_at")))
        .values_list("seconds", flat=True)
    ]


def grouped(queryset, field: str) -> list[list[object]]:
    return [
        [row[field] or "(none)", row["n"]]
        for row in queryset.values(field).annotate(n=Count("id")).order_by("-n")
    ]


def routing_summary(filters: Filters) -> dict:
    """Headline routing figures for the range: counts, latency percentiles, override rate."""
    queryset = assignments(filters)
    by_status = dict(queryset.values_list("status").annotate(n=Count("id")))
    routed = sum(by_status.get(status, 0) for status in ROUTED)
    latencies = latency_seconds(queryset)
    return {
        "assignments": sum(by_status.values()),
        "routed": routed,
        "by_status": by_status,
        "latency_p50_seconds": percentile(latencies, 50),
        "latency_p95_seconds": percentile(latencies, 95),
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
