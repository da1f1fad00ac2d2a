"""Time-to-first-response metrics from the local lead fact table.

Every figure is aggregated by the database (counts, breach rates, percentiles with
``percentile_cont``, histogram buckets), so a page over a million leads reads a few hundred
grouped rows, never the leads themselves.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence

import numpy as np
from django.db import connections
from django.db.models import Case, Count, IntegerField, Max, Q, QuerySet, Value, When
from django.db.models.functions import TruncDate

from analytics.dashboard import Dashboard, Table, bar, histogram, line
from analytics.filters import Filters
from analytics.metrics.aggregates import Percentiles, split
from analytics.metrics.common import pct, ratio, rounded
from ttfr.models import LeadFact

DECAY_BUCKETS = (0, 5, 15, 30, 60, 240, 1440, float("inf"))
DECAY_LABELS = ("<5 min", "5-15 min", "15-30 min", "30-60 min", "1-4 h", "4-24 h", ">24 h")
HISTOGRAM_BINS = 30
MIN_LEADS_FOR_RANKING = 5
BREACHED = Q(sla_breached=True)
DIMENSIONS = ("owner_id", "team", "segment", "region", "lead_source")  # the page's tables


def facts_frame(filters: Filters) -> QuerySet:
    """The leads in range (deleted leads excluded) that every metric below aggregates over: a
    lazy queryset, each metric is one query over it."""
    return filters.apply_facts(LeadFact.objects.filter(is_deleted=False))


def _summary_aggregates() -> dict:
    return {
        "leads": Count("pk"),
        "responded": Count("ttfr_minutes"),
        "minutes": Percentiles("ttfr_minutes", (0.5, 0.95, 0.99)),  # P99: the histogram's cap
        "max": Max("ttfr_minutes"),
        "business": Percentiles("business_minutes", (0.5,), filter=Q(ttfr_minutes__isnull=False)),
        "breached": Count("pk", filter=BREACHED),
        "breached_raw": Count("pk", filter=Q(sla_breached_raw=True)),
        "system": Percentiles("assignment_delay_minutes", (0.5,)),
        "human": Percentiles("human_delay_minutes", (0.5,)),
    }


def summary(facts: QuerySet, *, row: dict | None = None) -> dict:
    """Headline figures: counts, median / P95 / max minutes, breach rates (raw and business).
    ``row``: an aggregate of ``facts`` that already holds the summary's aggregates."""
    row = row if row is not None else facts.aggregate(**_summary_aggregates())
    median, p95, _p99 = split(row["minutes"], 3)
    return {
        "leads": row["leads"],
        "responded": row["responded"],
        "response_rate": ratio(row["responded"], row["leads"]),
        "median_minutes": rounded(median),
        "p95_minutes": rounded(p95),
        "max_minutes": rounded(row["max"]),
        "median_business_minutes": rounded(split(row["business"], 1)[0]),
        "sla_breach_rate": ratio(row["breached"], row["leads"]),
        "sla_breach_rate_raw": ratio(row["breached_raw"], row["leads"]),
        "median_system_delay_minutes": rounded(split(row["system"], 1)[0]),
        "median_human_delay_minutes": rounded(split(row["human"], 1)[0]),
    }


def headline(facts: QuerySet) -> dict:
    """Leads, median minutes and SLA breach rate: the overview's share of ``summary``, one sort
    of the minutes instead of four."""
    row = facts.aggregate(
        leads=Count("pk"),
        minutes=Percentiles("ttfr_minutes", (0.5,)),
        breached=Count("pk", filter=BREACHED),
    )
    return {
        "leads": row["leads"],
        "median_minutes": rounded(split(row["minutes"], 1)[0]),
        "sla_breach_rate": ratio(row["breached"], row["leads"]),
    }


def by_dimensions(facts: QuerySet, dimensions: Sequence[str]) -> dict[str, list[list[object]]]:
    """``by_dimension`` for several dimensions. On PostgreSQL one scan of the leads feeds every
    table (``GROUP BY GROUPING SETS``, one set per dimension) instead of one scan each."""
    connection = connections[facts.db]
    if connection.vendor != "postgresql" or not dimensions:
        return {dimension: by_dimension(facts, dimension) for dimension in dimensions}
    quoted = [connection.ops.quote_name(dimension) for dimension in dimensions]
    inner, params = facts.values(
        *dimensions, "ttfr_minutes", "sla_breached"
    ).query.sql_with_params()
    sql = (
        f"SELECT {', '.join(f'GROUPING({name})' for name in quoted)}, {', '.join(quoted)},"
        " COUNT(*), COUNT(ttfr_minutes),"
        " PERCENTILE_CONT(ARRAY[0.5, 0.95]::float8[]) WITHIN GROUP (ORDER BY ttfr_minutes),"
        " COUNT(*) FILTER (WHERE sla_breached)"
        f" FROM ({inner}) AS facts"
        f" GROUP BY GROUPING SETS ({', '.join(f'({name})' for name in quoted)})"
    )
    tables: dict[str, list[list[object]]] = {dimension: [] for dimension in dimensions}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row in cursor.fetchall():
            flags, values = row[: len(dimensions)], row[len(dimensions) : 2 * len(dimensions)]
            leads, responded, minutes, breached = row[2 * len(dimensions) :]
            index = flags.index(0)  # the one dimension this row is grouped by
            tables[dimensions[index]].append(
                _dimension_row(values[index], leads, responded, minutes, breached)
            )
    return {dimension: _ordered(table) for dimension, table in tables.items()}


def _dimension_row(
    value: str, leads: int, responded: int, minutes: list[float] | None, breached: int
) -> list[object]:
    return [
        value or "(none)",
        leads,
        responded,
        *(rounded(figure) for figure in split(minutes, 2)),
        ratio(breached, leads),
    ]


def _ordered(table: list[list[object]]) -> list[list[object]]:
    """Most leads first, ties in value order."""
    return sorted(sorted(table, key=lambda row: row[0]), key=lambda row: -row[1])


def by_dimension(facts: QuerySet, dimension: str) -> list[list[object]]:
    """Per value of ``dimension`` ("(none)" for blank): leads, responded, median, P95, breach
    rate; most leads first, ties in value order."""
    rows = (
        facts.values(dimension)
        .annotate(
            leads=Count("pk"),
            responded=Count("ttfr_minutes"),
            minutes=Percentiles("ttfr_minutes", (0.5, 0.95)),
            breached=Count("pk", filter=BREACHED),
        )
        .order_by()
    )
    return _ordered(
        [
            _dimension_row(
                row[dimension], row["leads"], row["responded"], row["minutes"], row["breached"]
            )
            for row in rows
        ]
    )


def daily_trend(facts: QuerySet) -> tuple[list[str], list, list]:
    """Per UTC day, oldest first: median minutes and SLA breach rate (%)."""
    rows = (
        facts.annotate(day=TruncDate("created_at", tzinfo=dt.UTC))
        .values("day")
        .annotate(
            median=Percentiles("ttfr_minutes", (0.5,)),
            leads=Count("pk"),
            breached=Count("pk", filter=BREACHED),
        )
        .order_by("day")
    )
    days, medians, breaches = [], [], []
    for row in rows:
        days.append(row["day"].isoformat())
        medians.append(rounded(split(row["median"], 1)[0]))
        breaches.append(rounded(100 * (row["breached"] / row["leads"])))
    return days, medians, breaches


def _decay_aggregates() -> dict:
    counts = {}
    for index, (low, high) in enumerate(itertools.pairwise(DECAY_BUCKETS)):
        bucket = Q(ttfr_minutes__gte=low)
        if high != float("inf"):
            bucket &= Q(ttfr_minutes__lt=high)
        counts[f"leads_{index}"] = Count("pk", filter=bucket)
        counts[f"converted_{index}"] = Count("pk", filter=bucket & Q(is_converted=True))
    return counts


def decay_curve(facts: QuerySet, *, row: dict | None = None) -> list[list[object]]:
    """Conversion rate by response-time bucket: the org's own 'respond in 5 minutes' chart.
    ``row``: an aggregate of ``facts`` that already holds the bucket counts."""
    row = row if row is not None else facts.aggregate(**_decay_aggregates())
    return [
        [label, row[f"leads_{index}"], ratio(row[f"converted_{index}"], row[f"leads_{index}"])]
        for index, label in enumerate(DECAY_LABELS)
    ]


def responders(by_owner: list[list[object]]) -> list[list[object]]:
    """Owners (rows of ``by_dimension(facts, "owner_id")``) ranked by median minutes, fastest
    first, among those with at least five responded leads."""
    ranked = [row for row in by_owner if row[2] >= MIN_LEADS_FOR_RANKING]
    return sorted(ranked, key=lambda row: row[3])


def histogram_counts(facts: QuerySet) -> tuple[list[int], list[float]]:
    """Leads per bin of minutes: 30 equal bins from 0 to the 99th percentile (at least 1), the
    last bin holding everything above (``numpy.histogram`` of the clipped values)."""
    (cap,) = split(facts.aggregate(cap=Percentiles("ttfr_minutes", (0.99,)))["cap"], 1)
    return histogram_below(facts, cap)


def histogram_below(facts: QuerySet, cap: float | None) -> tuple[list[int], list[float]]:
    """``histogram_counts`` with the 99th percentile already known (None: no minutes)."""
    if cap is None:
        return [], []
    edges = np.linspace(0.0, max(float(cap), 1.0), HISTOGRAM_BINS + 1)
    bucket = Case(
        *(
            When(ttfr_minutes__gte=float(edges[index]), then=Value(index))
            for index in reversed(range(HISTOGRAM_BINS))
        ),
        output_field=IntegerField(),
    )
    per_bin = dict(
        facts.filter(ttfr_minutes__gte=0)
        .annotate(bin=bucket)
        .values_list("bin")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = [per_bin.get(index, 0) for index in range(HISTOGRAM_BINS)]
    return counts, [round(float(edge), 2) for edge in edges]


def definition(sla_minutes: int) -> list[str]:
    """What the numbers mean, as ttfr/README.md defines them (shown on the page)."""
    return [
        "first response = the earliest outbound human touch on the lead at or after its creation.",
        "A touch is a completed call, email or LinkedIn task (at its completion time) or a sent "
        "email linked to the lead (at its message date). Open tasks and logged inbound emails "
        "never count, nor do touches before the lead was created.",
        "Touches by the integration user or a configured automated sender are automated: they "
        "are kept apart and never count as the first response.",
        "Earliest wins: a touch that arrives late but happened earlier replaces the recorded "
        "one, a later touch never replaces it; deleting the counted touch falls back to the "
        "next one.",
        "Minutes are measured from the lead's creation. Business minutes count only the working "
        "hours of the owner's team (its time zone, working days and public holidays).",
        f"SLA: {sla_minutes} business minutes (raw minutes for the raw breach rate); an "
        "unanswered lead is in breach once the time elapsed so far exceeds the SLA.",
    ]


def ttfr_dashboard(filters: Filters, *, sla_minutes: int) -> Dashboard:
    facts = facts_frame(filters)
    row = facts.aggregate(**_summary_aggregates(), **_decay_aggregates())  # one scan for three
    figures = summary(facts, row=row)
    counts, edges = histogram_below(facts, split(row["minutes"], 3)[2])
    days, medians, breaches = daily_trend(facts)
    decay = decay_curve(facts, row=row)
    tables = by_dimensions(facts, DIMENSIONS)
    by_owner = tables["owner_id"]
    ranked = responders(by_owner)
    header = ["value", "leads", "responded", "median min", "P95 min", "SLA breach rate"]
    dashboard = Dashboard(
        title="Time to first response",
        is_empty=figures["leads"] == 0,
        kpis=[
            ("Leads", figures["leads"]),
            ("Responded", figures["responded"]),
            ("Median (min)", figures["median_minutes"]),
            ("P95 (min)", figures["p95_minutes"]),
            ("Max (min)", figures["max_minutes"]),
            (
                f"SLA {sla_minutes} min breached (business hours)",
                pct(figures["sla_breach_rate"]),
            ),
            ("SLA breached (raw)", pct(figures["sla_breach_rate_raw"])),
            ("Median system delay (min)", figures["median_system_delay_minutes"]),
            ("Median human delay (min)", figures["median_human_delay_minutes"]),
        ],
        charts=[
            histogram(
                "histogram",
                "Distribution of minutes to first response",
                counts,
                edges,
                x_title="minutes",
            ),
            line(
                "trend",
                "Median minutes per day",
                days,
                {"median minutes": medians},
                y_title="minutes",
            ),
            line(
                "breach_trend",
                "SLA breach rate per day (%)",
                days,
                {"breach %": breaches},
                y_title="%",
            ),
            bar(
                "decay",
                "Conversion rate by response time",
                [r[0] for r in decay],
                [r[2] for r in decay],
                y_title="conversion rate",
            ),
        ],
        tables=[
            Table("by_owner", "By owner", ["owner", *header[1:]], by_owner),
            Table("by_team", "By team", ["team", *header[1:]], tables["team"]),
            Table("by_segment", "By segment", ["segment", *header[1:]], tables["segment"]),
            Table("by_region", "By region", ["region", *header[1:]], tables["region"]),
            Table(
                "by_source",
                "By lead source",
                ["lead source", *header[1:]],
                tables["lead_source"],
            ),
            Table(
                "decay",
                "Response time and conversion",
                ["response time", "leads", "conversion rate"],
                decay,
            ),
            Table("best_responders", "Fastest responders", ["owner", *header[1:]], ranked[:10]),
            Table(
                "worst_responders", "Slowest responders", ["owner", *header[1:]], ranked[::-1][:10]
            ),
        ],
        definition=definition(sla_minutes),
    )
    return dashboard
