"""Run the app's own commands (listen, qcluster) as real processes against the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def database_url() -> str:
    """The database this test process uses (the test database once pytest-django made it)."""
    settings = connection.settings_dict
    if settings["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings['NAME']}"
    user = quote(settings.get("USER") or "", safe="")
    password = settings.get("PASSWORD") or ""
    credentials = f"{user}:{quote(password, safe='')}" if password else user
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{settings['NAME']}"


def cluster_name(prefix: str = "test") -> str:
    """A django-q2 cluster name of its own: the ORM/Redis queue key, so parallel runs (and the
    tasks a killed process left behind) never meet."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"{prefix}-{worker}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def app_env(emulator, *, cluster: str | None = None, **extra: str) -> dict[str, str]:
    """The environment of an app process: the emulated org, the test database, no LLM key.

    ``cluster`` names the django-q2 queue; give the listener and the cluster the same one.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "Q_SYNC", "PYTEST"))}
    env.update(emulator.connection_env)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "flywheel_site.settings",
            "SECRET_KEY": settings.SECRET_KEY,  # tasks are signed: the test process enqueues too
            "DEBUG": "false",
            "DATABASE_URL": database_url(),
            "Q_CLUSTER_NAME": cluster or cluster_name(),
            "Q_WORKERS": "2",
            "ANTHROPIC_API_KEY": "",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


class AppProcess:
    def __init__(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.log = tempfile.NamedTemporaryFile(prefix=f"{name}-", suffix=".log", delete=False)  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole process group (a crash, not a shutdown)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def terminate(self, timeout: float = 20) -> int:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode


@contextmanager
def app_process(name: str, args: list[str], env: dict[str, str]) -> Iterator[AppProcess]:
    process = AppProcess(name, args, env)
    try:
        yield process
    finally:
        process.terminate()


def wait_for(
    predicate, *, timeout: float, interval: float = 0.2, message: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def wait_for_output(process: AppProcess, text: str, *, count: int = 1, timeout: float = 30) -> None:
    """Wait until ``text`` appears ``count`` times in the process's output (or it exits)."""

    def seen() -> bool:
        if process.process.poll() is not None:
            raise AssertionError(
                f"{process.name} exited with {process.process.returncode}:\n{process.output()}"
            )
        return process.output().count(text) >= count

    wait_for(seen, timeout=timeout, message=f"{text!r} x{count} from {process.name}")
