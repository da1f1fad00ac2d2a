"""One active listener per org: a lease row renewed by the holder; a standby takes over on expiry."""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from salesforce.models import ListenerLease

LEASE_SECONDS = 6.0
RENEW_EVERY_SECONDS = 2.0
STANDBY_POLL_SECONDS = 1.0


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def lease_acquire(*, holder: str, name: str = "default", seconds: float = LEASE_SECONDS) -> bool:
    """Take or renew the lease; False while another live holder has it."""
    now = timezone.now()
    with transaction.atomic():
        ListenerLease.objects.get_or_create(name=name)
        taken = ListenerLease.objects.filter(
            Q(holder=holder) | Q(holder="") | Q(expires_at__isnull=True) | Q(expires_at__lt=now),
            name=name,
        ).update(holder=holder, expires_at=now + dt.timedelta(seconds=seconds))
    return taken == 1


def lease_held(*, holder: str, name: str = "default") -> bool:
    return ListenerLease.objects.filter(name=name, holder=holder).exists()


def lease_release(*, holder: str, name: str = "default") -> None:
    ListenerLease.objects.filter(name=name, holder=holder).update(holder="", expires_at=None)


def heartbeat_record(
    *,
    holder: str,
    mode: str,
    last_event_at: dt.datetime | None = None,
    last_replay_id: int | None = None,
    events_per_min: float | None = None,
    lag_seconds: float | None = None,
    name: str = "default",
) -> None:
    """Store the listener's vital signs for /healthz and the operations dashboard."""
    values: dict[str, object] = {"mode": mode, "heartbeat_at": timezone.now()}
    if last_event_at is not None:
        values["last_event_at"] = last_event_at
    if last_replay_id is not None:
        values["last_replay_id"] = last_replay_id
    if events_per_min is not None:
        values["events_per_min"] = events_per_min
    if lag_seconds is not None:
        values["lag_seconds"] = lag_seconds
    ListenerLease.objects.filter(name=name, holder=holder).update(**values)


def notice_record(*, text: str, name: str = "default") -> None:
    """Tell the operator something happened (shown on /healthz and the dashboard banner)."""
    stamped = f"{timezone.now():%Y-%m-%d %H:%M:%S} UTC: {text}"
    ListenerLease.objects.update_or_create(name=name, defaults={"notice": stamped[:2000]})
