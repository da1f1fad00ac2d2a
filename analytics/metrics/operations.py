"""Operations figures: API budget, listener, queue, dead letters, API calls by workload."""

from __future__ import annotations

from django.db.models import Sum

from analytics.filters import Filters
from salesforce import selectors as sf_selectors
from salesforce.models import ApiUsage


def api_calls_by_workload(filters: Filters) -> list[list[object]]:
    rows = (
        ApiUsage.objects.filter(hour__gte=filters.start_at, hour__lt=filters.end_at)
        .values("workload", "endpoint")
        .annotate(calls=Sum("calls"), errors=Sum("errors"))
        .order_by("-calls")
    )
    return [[row["workload"], row["endpoint"], row["calls"], row["errors"]] for row in rows]


def operations_status() -> dict:
    listener = sf_selectors.listener_status_get()
    api = sf_selectors.api_status_get()
    return {
        "listener_state": listener.get("state"),
        "listener_mode": listener.get("mode") or "-",
        "listener_lag_seconds": listener.get("lag_seconds"),
        "listener_notice": listener.get("notice") or "",
        "queue_depth": sf_selectors.queue_depth_get(),
        "dead_letters": sf_selectors.dead_letters_open_count(),
        "api_used": api.get("api_used"),
        "api_max": api.get("api_max"),
        "circuit_open": api.get("circuit_open"),
    }
