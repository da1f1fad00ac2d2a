"""Time-to-first-response metrics from the local lead fact table."""

from __future__ import annotations

import numpy as np
import pandas as pd
from django.db import connection

from analytics.dashboard import Dashboard, Table, bar, histogram, line
from analytics.filters import Filters
from analytics.metrics.common import pct, ratio, rounded
from ttfr.models import LeadFact

COLUMNS = (
    "created_at",
    "owner_id",
    "team",
    "segment",
    "region",
    "lead_source",
    "ttfr_minutes",
    "business_minutes",
    "sla_breached",
    "sla_breached_raw",
    "assignment_delay_minutes",
    "human_delay_minutes",
    "is_converted",
)
DECAY_BUCKETS = (0, 5, 15, 30, 60, 240, 1440, float("inf"))
DECAY_LABELS = ("<5 min", "5-15 min", "15-30 min", "30-60 min", "1-4 h", "4-24 h", ">24 h")
MIN_LEADS_FOR_RANKING = 5


def facts_frame(filters: Filters) -> pd.DataFrame:
    """One row per lead in range (deleted leads excluded), only the columns the metrics use."""
    queryset = filters.apply_facts(LeadFact.objects.filter(is_deleted=False)).values_list(*COLUMNS)
    frame = pd.DataFrame.from_records(_rows(queryset), columns=list(COLUMNS))
    for column in (
        "ttfr_minutes",
        "business_minutes",
        "assignment_delay_minutes",
        "human_delay_minutes",
    ):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def _rows(queryset) -> list[tuple]:
    """The rows of ``queryset``. On PostgreSQL straight from the cursor: the driver already gives
    the values Django would (aware UTC datetimes, floats, booleans) and a million leads skip
    Django's per-row work; SQLite needs Django's converters (its datetimes are text)."""
    if connection.vendor != "postgresql":
        return list(queryset)
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def summary(frame: pd.DataFrame) -> dict:
    """Headline figures: counts, median / P95 / max minutes, breach rates (raw and business)."""
    responded = frame[frame["ttfr_minutes"].notna()]
    minutes = responded["ttfr_minutes"]
    return {
        "leads": len(frame),
        "responded": len(responded),
        "response_rate": ratio(len(responded), len(frame)),
        "median_minutes": rounded(minutes.median()),
        "p95_minutes": rounded(minutes.quantile(0.95)) if len(minutes) else None,
        "max_minutes": rounded(minutes.max()),
        "median_business_minutes": rounded(responded["business_minutes"].median()),
        "sla_breach_rate": ratio(int(frame["sla_breached"].sum()), len(frame)),
        "sla_breach_rate_raw": ratio(int(frame["sla_breached_raw"].sum()), len(frame)),
        "median_system_delay_minutes": rounded(frame["assignment_delay_minutes"].median()),
        "median_human_delay_minutes": rounded(frame["human_delay_minutes"].median()),
    }


def by_dimension(frame: pd.DataFrame, dimension: str) -> list[list[object]]:
    """Per value of ``dimension``: leads, responded, median, P95, breach rate."""
    rows: list[list[object]] = []
    for value, group in frame.groupby(frame[dimension].fillna("").replace("", "(none)")):
        minutes = group["ttfr_minutes"].dropna()
        rows.append(
            [
                value,
                len(group),
                len(minutes),
                rounded(minutes.median()),
                rounded(minutes.quantile(0.95)) if len(minutes) else None,
                ratio(int(group["sla_breached"].sum()), len(group)),
            ]
        )
    return sorted(rows, key=lambda row: -row[1])


def daily_trend(frame: pd.DataFrame) -> tuple[list[str], list, list]:
    if frame.empty:
        return [], [], []
    days = pd.to_datetime(frame["created_at"], utc=True).dt.strftime("%Y-%m-%d")
    grouped = frame.assign(day=days).groupby("day")
    median = grouped["ttfr_minutes"].median()
    breach = grouped["sla_breached"].mean()
    labels = list(median.index)
    return labels, [rounded(v) for v in median], [rounded(100 * v) for v in breach]


def decay_curve(frame: pd.DataFrame) -> list[list[object]]:
    """Conversion rate by response-time bucket: the org's own 'respond in 5 minutes' chart."""
    responded = frame[frame["ttfr_minutes"].notna()]
    buckets = pd.cut(
        responded["ttfr_minutes"], bins=DECAY_BUCKETS, labels=DECAY_LABELS, right=False
    )
    rows = []
    for label in DECAY_LABELS:
        group = responded[buckets == label]
        rows.append([label, len(group), ratio(int(group["is_converted"].sum()), len(group))])
    return rows


def responders(frame: pd.DataFrame) -> list[list[object]]:
    """Owners ranked by median minutes (at least five responded leads)."""
    ranked = [row for row in by_dimension(frame, "owner_id") if row[2] >= MIN_LEADS_FOR_RANKING]
    return sorted(ranked, key=lambda row: row[3])


def histogram_counts(frame: pd.DataFrame) -> tuple[list[int], list[float]]:
    minutes = frame["ttfr_minutes"].dropna()
    if minutes.empty:
        return [], []
    cap = max(float(minutes.quantile(0.99)), 1.0)
    counts, edges = np.histogram(minutes.clip(upper=cap), bins=30, range=(0.0, cap))
    return [int(c) for c in counts], [round(float(e), 2) for e in edges]


def definition(sla_minutes: int) -> list[str]:
    """What the numbers mean, as ttfr/README.md defines them (shown on the page)."""
    return [
        "first response = the earliest outbound human touch on the lead after its creation.",
        "A touch is a completed call, email or LinkedIn task (at its completion time) or a sent "
        "email linked to the lead (at its message date). Open tasks and logged inbound emails "
        "never count, nor do touches before the lead was created.",
        "Touches by the integration user or a configured automated sender are automated: they "
        "are kept apart and never count as the first response.",
        "Earliest wins: a touch that arrives late but happened earlier replaces the recorded "
        "one; deleting the counted touch falls back to the next one.",
        "Minutes are measured from the lead's creation. Business minutes count only the working "
        "hours of the owner's team (its time zone, working days and public holidays).",
        f"SLA: {sla_minutes} business minutes (raw minutes for the raw breach rate); an "
        "unanswered lead is in breach once the time elapsed so far exceeds the SLA.",
    ]


def ttfr_dashboard(filters: Filters, *, sla_minutes: int) -> Dashboard:
    frame = facts_frame(filters)
    figures = summary(frame)
    counts, edges = histogram_counts(frame)
    days, medians, breaches = daily_trend(frame)
    decay = decay_curve(frame)
    ranked = responders(frame)
    header = ["value", "leads", "responded", "median min", "P95 min", "SLA breach rate"]
    dashboard = Dashboard(
        title="Time to first response",
        is_empty=frame.empty,
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
            Table("by_owner", "By owner", ["owner", *header[1:]], by_dimension(frame, "owner_id")),
            Table("by_team", "By team", ["team", *header[1:]], by_dimension(frame, "team")),
            Table(
                "by_segment", "By segment", ["segment", *header[1:]], by_dimension(frame, "segment")
            ),
            Table("by_region", "By region", ["region", *header[1:]], by_dimension(frame, "region")),
            Table(
                "by_source",
                "By lead source",
                ["lead source", *header[1:]],
                by_dimension(frame, "lead_source"),
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
