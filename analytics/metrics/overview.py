"""The overview page: the headline of every other dashboard plus operations."""

from __future__ import annotations

from django.conf import settings

from analytics.dashboard import Dashboard, Table, line
from analytics.filters import Filters
from analytics.metrics.common import pct
from analytics.metrics.operations import api_calls_by_workload, operations_status
from analytics.metrics.routing import routing_summary
from analytics.metrics.ttfr import daily_trend, facts_frame, headline


def overview_dashboard(filters: Filters) -> Dashboard:
    facts = facts_frame(filters)
    ttfr = headline(facts)
    routing = routing_summary(filters)
    ops = operations_status()
    days, medians, breaches = daily_trend(facts)
    api = "-" if ops["api_max"] in (None, 0) else f"{ops['api_used']:,} / {ops['api_max']:,}"
    board = Dashboard(
        title="Overview",
        is_empty=ttfr["leads"] == 0 and not routing["assignments"],
        kpis=[
            ("Leads", ttfr["leads"]),
            ("Leads routed", routing["routed"]),
            ("P95 event→owner (s)", routing["latency_p95_seconds"]),
            ("Median first response (min)", ttfr["median_minutes"]),
            (f"SLA {settings.TTFR_SLA_MINUTES} min breached", pct(ttfr["sla_breach_rate"])),
            ("Human override rate", pct(routing["override_rate"])),
            ("Listener", f"{ops['listener_state']} ({ops['listener_mode']})"),
            ("Queue depth", ops["queue_depth"]),
            ("Dead letters", ops["dead_letters"]),
            ("API calls today (org)", api),
        ],
        charts=[
            line(
                "ttfr_trend", "Median minutes to first response per day", days, {"median": medians}
            ),
            line("breach_trend", "SLA breach rate per day (%)", days, {"breach %": breaches}),
        ],
        tables=[
            Table(
                "api_calls",
                "Salesforce API calls by workload",
                ["workload", "endpoint", "calls", "errors"],
                api_calls_by_workload(filters),
            ),
        ],
    )
    if ops["circuit_open"]:
        board.notes.append(
            "Salesforce API circuit breaker is open: calls are paused (see /healthz)."
        )
    return board
