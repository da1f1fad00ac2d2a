"""Schedule the SLA check every five minutes on the django-q2 cluster (editable in the admin)."""

from django.db import migrations

NAME = "ttfr: check SLA breaches"


def schedule_create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.get_or_create(
        name=NAME,
        defaults={
            "func": "ttfr.tasks.check_sla",
            "schedule_type": "I",
            "minutes": 5,
            "repeats": -1,
        },
    )


def schedule_delete(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ttfr", "0001_initial"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [migrations.RunPython(schedule_create, schedule_delete)]
