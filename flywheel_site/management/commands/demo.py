"""manage.py demo: the whole app on embedded defaults, as one supervised process group."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import time
from pathlib import Path

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from flywheel_site.roles import LABELERS, MANAGERS, OPS
from flywheel_site.supervisor import Child, Supervisor

DEMO_PASSWORD = "flywheel-demo"  # noqa: S105 - local demo logins, printed on purpose
DEMO_USERS = (("admin", None), ("ops", OPS), ("manager", MANAGERS), ("labeler", LABELERS))
READY_PREFIX = "sf_emulator ready "
HISTORY_LEADS_PER_DAY = 150
WEB_START_SECONDS = 60


class Command(BaseCommand):
    help = (
        "Run the whole app locally: the Salesforce org emulator with traffic, the listener, the "
        "task cluster and the web server on http://127.0.0.1:8000. Ctrl-C stops everything."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--emulator-port", type=int, default=8443)
        parser.add_argument("--traffic", type=float, default=20, help="Synthetic leads per minute.")
        parser.add_argument("--history-days", type=int, default=7, help="History on first run.")
        parser.add_argument("--state-dir", default=str(settings.VAR_DIR / "demo"))

    def handle(self, *args, **options) -> None:
        self._started = time.monotonic()
        state_dir = Path(options["state_dir"])
        state_dir.mkdir(parents=True, exist_ok=True)
        self.stdout.write("Preparing the database...")
        call_command("migrate", verbosity=0)
        call_command("load_config", verbosity=0)
        self._users()

        supervisor = Supervisor(out=self.stdout._out)
        try:
            self._run(supervisor, state_dir, options)
        except BaseException:  # a failure or Ctrl-C while starting: leave no child behind
            supervisor.stop()
            raise
        sys.exit(supervisor.wait())

    def _run(self, supervisor: Supervisor, state_dir: Path, options: dict) -> None:
        emulator_url = self._start_emulator(supervisor, state_dir, options)
        env = self._child_env(state_dir / "emulator", emulator_url)
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        history = options["history_days"] > 0 and not (state_dir / "history-loaded").exists()
        if history:  # before the listener starts, so history is not routed as new leads
            self._generate_history(emulator_url, state_dir, options["history_days"], env)
        supervisor.start(Child("listen", [*manage, "listen"], env))
        supervisor.start(Child("cluster", [*manage, "qcluster"], env))
        web = supervisor.start(
            Child("web", [*manage, "runserver", f"127.0.0.1:{options['port']}", "--noreload"], env)
        )
        if history:  # meanwhile the others start up (TTFR writes are upserts, safe side by side)
            self._backfill(supervisor, state_dir, env)
        self._wait_for_web(web, options["port"])
        self._banner(options["port"], emulator_url, time.monotonic() - self._started)

    def _users(self) -> None:
        user_model = get_user_model()
        for username, role in DEMO_USERS:
            user, created = user_model.objects.get_or_create(
                username=username,
                defaults={
                    "email": f"{username}@flywheel.demo",
                    "is_staff": True,
                    "is_superuser": role is None,
                },
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            if role:
                user.groups.add(Group.objects.get(name=role))

    def _start_emulator(self, supervisor: Supervisor, state_dir: Path, options: dict) -> str:
        ready = threading.Event()
        found: dict[str, str] = {}

        def watch(line: str) -> None:
            if line.startswith(READY_PREFIX):
                found["url"] = line[len(READY_PREFIX) :].split()[0]
                ready.set()

        argv = [
            sys.executable,
            "-m",
            "sf_emulator",
            "serve",
            "--port",
            str(options["emulator_port"]),
            "--state-dir",
            str(state_dir / "emulator"),
            "--traffic",
            str(options["traffic"]),
        ]
        child = supervisor.start(Child("emulator", argv, dict(os.environ), on_line=watch))
        if not ready.wait(60):
            supervisor.stop()
            code = child.process.poll() if child.process else None
            raise CommandError(
                f"The Salesforce org emulator did not start (exit code {code}). Is port "
                f"{options['emulator_port']} free? Try --emulator-port."
            )
        return found["url"]

    def _child_env(self, emulator_dir: Path, emulator_url: str) -> dict[str, str]:
        env = dict(os.environ)
        env.setdefault("DEBUG", "true")
        for line in (emulator_dir / "connection.env").read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and not key.startswith("#"):
                env[key.strip()] = value.strip()
        env.setdefault("ANTHROPIC_BASE_URL", emulator_url)
        env.setdefault("ANTHROPIC_API_KEY", "demo-key-for-the-emulator")
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _generate_history(self, url: str, state_dir: Path, days: int, env: dict[str, str]) -> None:
        """Once per state directory (a marker file says it was done): past leads in the org.

        The backfill that follows leaves a marker too, so a rerun after an interruption does
        only what is left (the backfill itself resumes from its checkpoint).
        """
        generated = state_dir / "history-generated"
        if generated.exists():
            return
        self.stdout.write(f"First run: generating {days} days of lead history...")
        response = requests.post(
            f"{url}/__emulator__/traffic",
            json={"history_days": days, "leads_per_day": HISTORY_LEADS_PER_DAY},
            verify=env["SF_CA_BUNDLE"],
            timeout=600,
        )
        response.raise_for_status()
        generated.write_text("ok\n")

    def _backfill(self, supervisor: Supervisor, state_dir: Path, env: dict[str, str]) -> None:
        self.stdout.write("Backfilling time to first response from that history...")
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        code = supervisor.run(Child("backfill", [*manage, "backfill_ttfr"], env))
        if code != 0:
            raise CommandError(
                f"The time-to-first-response backfill failed (exit code {code}); see its log "
                "above. Run `make demo` again to resume it."
            )
        (state_dir / "history-loaded").write_text("ok\n")

    def _wait_for_web(self, web: Child, port: int) -> None:
        """The URL is printed once it answers, not while the web server is still starting."""
        deadline = time.monotonic() + WEB_START_SECONDS
        while time.monotonic() < deadline:
            assert web.process is not None
            if web.process.poll() is not None:
                raise CommandError(
                    f"The web server exited with code {web.process.returncode}; see its log "
                    f"above. Is port {port} free? Try --port."
                )
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                return
            time.sleep(0.2)
        raise CommandError(f"The web server did not answer on port {port} within a minute.")

    def _banner(self, port: int, emulator_url: str, seconds: float) -> None:
        self.stdout.write(
            self.style.SUCCESS(
                "\n"
                f"  Flywheel demo is running: http://127.0.0.1:{port}/ (started in {seconds:.0f} s)\n"
                f"  Logins (password {DEMO_PASSWORD}): admin (superuser), ops, manager, labeler\n"
                f"  Salesforce org emulator: {emulator_url}\n"
                "  Press Ctrl-C to stop everything.\n"
            )
        )
