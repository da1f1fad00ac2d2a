"""The product's schedules are present after migrate, come back when missing, and keep edits."""

import pytest
from django.core.management import call_command
from django_q.models import Schedule

from flywheel_site.schedules import SCHEDULES, schedules_sync


@pytest.mark.django_db
def test_every_schedule_exists_and_names_an_importable_task():
    from django.utils.module_loading import import_string

    for spec in SCHEDULES:
        schedule = Schedule.objects.get(name=spec["name"])
        assert schedule.func == spec["func"] and callable(import_string(schedule.func))


@pytest.mark.django_db
def test_a_deleted_schedule_comes_back_and_an_edited_one_is_kept():
    Schedule.objects.filter(func="ttfr.tasks.check_sla").delete()
    Schedule.objects.filter(func="salesforce.tasks.rerun_lost_work").update(minutes=3)

    created = schedules_sync()

    assert created == 1 and Schedule.objects.filter(func="ttfr.tasks.check_sla").exists()
    assert Schedule.objects.get(func="salesforce.tasks.rerun_lost_work").minutes == 3


@pytest.mark.django_db
def test_a_retired_schedule_is_removed():
    Schedule.objects.create(
        name="routing: route leads whose task was lost",
        func="routing.tasks.route_stragglers",
        schedule_type="I",
        minutes=1,
    )

    schedules_sync()

    assert not Schedule.objects.filter(func="routing.tasks.route_stragglers").exists()


@pytest.mark.django_db(transaction=True)
def test_schedules_survive_a_flush_of_the_database():
    call_command("flush", interactive=False, verbosity=0)

    assert Schedule.objects.count() == len(SCHEDULES)
