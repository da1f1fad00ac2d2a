"""django-q2 entry points of the inbox."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from django_q.brokers import get_broker

from salesforce import sweep


def rerun_lost_work() -> int:
    """Scheduled every minute: enqueue again the work no task finished (a worker killed on the
    Redis broker, a task that raised), once Q_RETRY passed since its dispatch."""
    result = sweep.lost_work_rerun(
        now=timezone.now(),
        grace=dt.timedelta(seconds=settings.Q_CLUSTER["retry"]),
        queue_size=get_broker().queue_size(),
    )
    return sum(result.rerun.values())
