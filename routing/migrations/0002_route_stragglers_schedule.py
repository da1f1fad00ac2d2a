"""Schedule the sweep that routes leads whose routing task was lost, every minute."""

from django.db import migrations

NAME = "routing: route leads whose task was lost"


def schedule_create(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.get_or_create(
        name=NAME,
        defaults={
            "func": "routing.tasks.route_stragglers",
            "schedule_type": "I",
            "minutes": 1,
            "repeats": -1,
        },
    )


def schedule_delete(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("routing", "0001_initial"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [migrations.RunPython(schedule_create, schedule_delete)]
