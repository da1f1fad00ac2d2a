"""Operations figures: API budget, listener, queue, dead letters, API calls by workload."""

from __future__ import annotations

import datetime as dt

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
        "queue_depth": sf_selectors.queue_depth_get(),
        "dead_letters": sf_selectors.dead_letters_open_count(),
        "api_used": api.get("api_used"),
        "api_max": api.get("api_max"),
        "circuit_open": api.get("circuit_open"),
    }


NOTICE_HOURS = 24  # a reconciliation or gap notice stays on the banner this long


def listener_notices(status: dict, *, now: dt.datetime) -> list[str]:
    """What the dashboard banner says about the listener (``listener_status_get()`` as input).

    Down (no fresh heartbeat from an active listener: a standby alone does not process events),
    polling instead of streaming, and a notice (gap or reconciliation) from the last day.
    """
    notices: list[str] = []
    state = status.get("state")
    if state == "never started":
        notices.append(
            "No Salesforce listener has run yet: leads are not routed or measured until "
            "`manage.py listen` runs."
        )
    elif state != "running":
        minutes = round((status.get("heartbeat_age_seconds") or 0) / 60)
        notices.append(
            f"The Salesforce listener is down (last heartbeat {minutes} min ago): new leads are "
            "not routed or measured and these figures are not updating. A standby listener "
            "takes over within seconds when one is running; otherwise start `manage.py listen`."
        )
    elif status.get("mode") == "polling":
        notices.append(
            "The listener is polling Salesforce instead of streaming Change Data Capture: "
            "changes arrive with a delay and cost API calls."
        )
    notice = status.get("notice") or ""
    if notice and _is_recent(notice, now=now):
        notices.append(notice)
    return notices


def _is_recent(notice: str, *, now: dt.datetime) -> bool:
    """Notices start with their time (``notice_record``); an unstamped one is always shown."""
    try:
        stamped = dt.datetime.strptime(notice[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
    except ValueError:
        return True
    return now - stamped <= dt.timedelta(hours=NOTICE_HOURS)
