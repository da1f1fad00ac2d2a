"""Run the app's own commands (listen, qcluster) as real processes against the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def database_url() -> str:
    settings = connection.settings_dict
    if settings["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings['NAME']}"
    user = settings.get("USER") or ""
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{settings['NAME']}"


def app_env(emulator, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "Q_SYNC", "PYTEST"))}
    env.update(emulator.connection_env)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "flywheel_site.settings",
            "SECRET_KEY": "integration-test-secret-key",
            "DEBUG": "false",
            "DATABASE_URL": database_url(),
            "Q_CLUSTER_NAME": f"test-{worker}-{os.getpid()}",
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
