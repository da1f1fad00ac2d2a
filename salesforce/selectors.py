"""Reads about the Salesforce connection for /healthz and the operations dashboard."""

from __future__ import annotations

import logging

from django.utils import timezone
from django_q.brokers import get_broker

from salesforce.models import DeadLetter, ListenerLease, OrgLimitSnapshot

logger = logging.getLogger(__name__)
HEARTBEAT_STALE_SECONDS = 30


def listener_status_get(name: str = "default") -> dict:
    lease = ListenerLease.objects.filter(name=name).first()
    if lease is None or lease.heartbeat_at is None:
        return {"state": "never started", "healthy": False}
    age = (timezone.now() - lease.heartbeat_at).total_seconds()
    return {
        "state": "running" if age <= HEARTBEAT_STALE_SECONDS and lease.holder else "stopped",
        "healthy": age <= HEARTBEAT_STALE_SECONDS and bool(lease.holder),
        "mode": lease.mode,
        "holder": lease.holder,
        "heartbeat_age_seconds": round(age, 1),
        "last_event_at": lease.last_event_at.isoformat() if lease.last_event_at else None,
        "last_replay_id": lease.last_replay_id,
        "events_per_min": lease.events_per_min,
        "lag_seconds": lease.lag_seconds,
        "notice": lease.notice,
    }


def queue_depth_get() -> int | None:
    try:
        return int(get_broker().queue_size())
    except Exception:  # the broker being down must not break /healthz
        logger.warning("could not read the task queue size", exc_info=True)
        return None


def api_status_get() -> dict:
    snapshot = OrgLimitSnapshot.objects.filter(name="default").first()
    if snapshot is None:
        return {"api_used": None, "api_max": None, "circuit_open": False}
    open_until = snapshot.circuit_open_until
    is_open = bool(open_until and open_until > timezone.now())
    return {
        "api_used": snapshot.api_used,
        "api_max": snapshot.api_max,
        "circuit_open": is_open,
        "circuit_open_until": open_until.isoformat() if is_open else None,
        "circuit_reason": snapshot.circuit_reason if is_open else "",
    }


def dead_letters_open_count() -> int:
    return DeadLetter.objects.filter(resolved_at__isnull=True).count()
