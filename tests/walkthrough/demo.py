"""A real `manage.py demo` process for the walkthrough: its environment, its printed URL, the
processes it started (read from /proc), Ctrl-C, and a login over HTTP as the README's users."""

from __future__ import annotations

import base64
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import requests

ROOT = Path(__file__).resolve().parents[2]
URL_LINE = re.compile(r"Flywheel demo is running: (http://[^/\s]+)")
# Settings the test process may carry (the PostgreSQL + Redis run, pytest's Django settings) that
# must not leak into a demo on embedded defaults.
NOT_INHERITED = ("DJANGO_", "PYTEST", "Q_", "SF_", "ANTHROPIC_", "LLM_", "TTFR_", "ROUTING_")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tour_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("## A tour\n", 1)[1].split("\n## ", 1)[0]


def chart_has_data(traces: list[dict]) -> bool:
    """A plotly chart has data when some trace has a non-zero y (or pie value)."""
    for trace in traces:
        values = trace.get("y") or trace.get("values") or []
        if isinstance(values, dict):  # plotly's typed-array encoding of numpy arrays
            values = np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
        if any(value not in (0, None) for value in values):
            return True
    return False


def signed_in(base: str, username: str, password: str) -> requests.Session:
    """A session signed in through the admin login form (its CSRF token, then the POST)."""
    session = requests.Session()
    form = session.get(f"{base}/admin/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    done = session.post(
        f"{base}/admin/login/?next=/admin/",
        data={
            "csrfmiddlewaretoken": token,
            "username": username,
            "password": password,
            "next": "/admin/",
        },
        timeout=30,
    )
    signed = done.status_code == 200 and urlsplit(done.url).path == "/admin/"
    assert signed, f"{username} could not sign in: {done.status_code} {done.url}"
    return session


class DemoProcess:
    """`manage.py demo` started like `make demo` would, in a process group of its own."""

    def __init__(
        self,
        *,
        state_dir: Path,
        database_url: str,
        port: int,
        emulator_port: int,
        traffic: float,
        history_days: int,
        log: Path,
    ) -> None:
        self.state_dir = state_dir
        self.log = log
        self.started = time.monotonic()
        self._seen: dict[int, str] = {}  # pid → start time, so a reused pid is never killed
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    str(ROOT / "manage.py"),
                    "demo",
                    "--port",
                    str(port),
                    "--emulator-port",
                    str(emulator_port),
                    "--state-dir",
                    str(state_dir),
                    "--traffic",
                    str(traffic),
                    "--history-days",
                    str(history_days),
                ],
                cwd=ROOT,
                env=self.base_env(database_url),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: Ctrl-C is a SIGINT to that group
            )

    @staticmethod
    def base_env(database_url: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(NOT_INHERITED)}
        env.update(
            {
                "DEBUG": "true",
                "DATABASE_URL": database_url,
                "REDIS_URL": "",  # embedded defaults: the ORM broker and the file cache
                "Q_CLUSTER_NAME": f"walkthrough-{uuid.uuid4().hex[:8]}",
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def assert_running(self) -> None:
        code = self.process.poll()
        assert code is None, f"demo exited with {code}:\n{self.output()[-5000:]}"

    def wait_for_url(self, *, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.assert_running()
            found = URL_LINE.search(self.output())
            if found:
                base = found.group(1)
                self._wait_for_web(base, deadline)
                return base
            time.sleep(0.2)
        raise AssertionError(f"no URL within {timeout}s:\n{self.output()[-5000:]}")

    def _wait_for_web(self, base: str, deadline: float) -> None:
        while time.monotonic() < deadline:
            self.assert_running()
            self.descendants()
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(f"{base}/admin/login/", timeout=5).status_code == 200:
                    return
            time.sleep(0.2)
        raise AssertionError(f"{base} does not answer:\n{self.output()[-5000:]}")

    def emulator_env(self) -> dict[str, str]:
        env = {}
        for line in (self.state_dir / "emulator" / "connection.env").read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and not key.startswith("#"):
                env[key.strip()] = value.strip()
        return env

    def emulator_control(self, method: str, path: str, **kwargs) -> requests.Response:
        env = self.emulator_env()
        response = requests.request(
            method, env["SF_LOGIN_URL"] + path, verify=env["SF_CA_BUNDLE"], timeout=30, **kwargs
        )
        response.raise_for_status()
        return response

    def emulator_stats(self) -> dict:
        return self.emulator_control("GET", "/__emulator__/stats").json()

    def descendants(self) -> set[int]:
        """Every live process below the demo (children and their workers), remembered so that a
        failed test can still end them."""
        table = _processes()
        found: set[int] = set()
        frontier = {self.process.pid}
        while frontier:
            frontier = {pid for pid, (parent, _) in table.items() if parent in frontier} - found
            found |= frontier
        self._seen.update({pid: table[pid][1] for pid in found})
        return found

    def interrupt(self) -> None:
        """Ctrl-C in the demo's terminal: SIGINT to its foreground process group."""
        os.killpg(self.process.pid, signal.SIGINT)

    def wait_all_gone(self, pids: set[int], *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None and not _alive(pids):
                return
            time.sleep(0.1)
        raise AssertionError(
            f"still running {timeout}s after Ctrl-C: demo={self.process.poll() is None}, "
            f"children={sorted(_alive(pids))}\n{self.output()[-3000:]}"
        )

    def kill(self) -> None:
        """After a failure: SIGKILL the demo and every process it was seen to start."""
        if self.process.poll() is None:
            self.descendants()
        table = _processes()
        for pid, started in self._seen.items():
            if pid in table and table[pid][1] == started:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


def _processes() -> dict[int, tuple[int, str]]:
    """pid → (parent pid, start time) of every live (not zombie) process, from /proc."""
    table: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                fields = stat[stat.rindex(")") + 2 :].split()  # fields[0] is the 3rd: the state
                if fields[0] != "Z":
                    table[int(entry.name)] = (int(fields[1]), fields[19])
    return table


def _alive(pids: set[int]) -> set[int]:
    return pids & set(_processes())
