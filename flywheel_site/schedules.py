"""The django-q2 schedules the product needs, kept present after every migrate (and after a test
database flush, which emits post_migrate too). Ops may change a schedule's timing in the admin;
only a missing schedule is created again."""

from __future__ import annotations

import contextlib

from django.db import transaction
from django.db.utils import DatabaseError

SCHEDULES: tuple[dict, ...] = (
    {
        "name": "ttfr: check SLA breaches",
        "func": "ttfr.tasks.check_sla",
        "schedule_type": "I",
        "minutes": 5,
    },
    {
        "name": "inbox: re-run work whose task was lost",
        "func": "salesforce.tasks.rerun_lost_work",
        "schedule_type": "I",
        "minutes": 1,
    },
    {
        "name": "flywheel: retrain models with new labels",
        "func": "flywheel.tasks.retrain_models",
        "schedule_type": "H",
    },
)

# Schedules of earlier versions, removed by name (their task no longer exists).
RETIRED = ("routing: route leads whose task was lost",)


def schedules_sync() -> int:
    """Create the schedules that do not exist (by name) and remove retired ones; returns how
    many were created."""
    from django_q.models import Schedule

    Schedule.objects.filter(name__in=RETIRED).delete()
    created = 0
    for spec in SCHEDULES:
        values = {key: value for key, value in spec.items() if key != "name"}
        _, made = Schedule.objects.get_or_create(
            name=spec["name"], defaults={**values, "repeats": -1}
        )
        created += made
    return created


def sync_after_migrate(**kwargs: object) -> None:
    # django_q's tables may not exist yet after a partial migrate: try again on the next one
    with contextlib.suppress(DatabaseError), transaction.atomic():
        schedules_sync()
