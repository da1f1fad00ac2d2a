"""Run the whole app locally on its embedded defaults."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

DEMO_USER = "admin"
DEMO_PASSWORD = "flywheel-demo"  # noqa: S105 - local demo login, printed on purpose


class Command(BaseCommand):
    help = "Migrate, create the demo admin and serve the app on http://127.0.0.1:8000."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, port: int, **options) -> None:
        call_command("migrate", verbosity=0)
        user_model = get_user_model()
        if not user_model.objects.filter(username=DEMO_USER).exists():
            user_model.objects.create_superuser(DEMO_USER, "admin@flywheel.demo", DEMO_PASSWORD)
        self.stdout.write(
            self.style.SUCCESS(
                f"Flywheel demo: http://127.0.0.1:{port}/  "
                f"(admin login: {DEMO_USER} / {DEMO_PASSWORD})"
            )
        )
        call_command("runserver", f"127.0.0.1:{port}", use_reloader=False)
