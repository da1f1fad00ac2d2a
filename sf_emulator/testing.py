"""Run the emulator as a subprocess for tests, benchmarks and ``make demo``.

with running_emulator(tmp_path / "org", traffic=0) as emulator:
    emulator.control("POST", "/__emulator__/reset")
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

READY = re.compile(r"^sf_emulator ready (?P<url>https://127\.0\.0\.1:(?P<port>\d+)) state=")
START_TIMEOUT_SECONDS = 30.0


class EmulatorProcess:
    """A running ``python -m sf_emulator serve`` child; see :func:`running_emulator`."""

    def __init__(self, state_dir: Path, options: dict[str, object]) -> None:
        self.state_dir = Path(state_dir).resolve()
        self._options = options
        self._process: subprocess.Popen[str] | None = None
        self.url = ""
        self.port = 0
        self._http = requests.Session()
        # REQUESTS_CA_BUNDLE in the environment would override session.verify otherwise.
        self._http.trust_env = False

    @property
    def ca_bundle(self) -> Path:
        return self.state_dir / "ca.pem"

    @property
    def connection_env(self) -> dict[str, str]:
        lines = (self.state_dir / "connection.env").read_text().splitlines()
        return dict(line.split("=", 1) for line in lines if "=" in line)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self, *, port: int | None = None) -> None:
        command = [sys.executable, "-m", "sf_emulator", "serve", "--state-dir", str(self.state_dir)]
        command += ["--port", str(port if port is not None else self._options.get("port", 0))]
        for name, value in self._options.items():
            if name != "port" and value is not None:
                command += [f"--{name.replace('_', '-')}", str(value)]
        root = Path(__file__).resolve().parent.parent
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
        }
        self._process = subprocess.Popen(
            command, stdout=subprocess.PIPE, text=True, cwd=root, env=env
        )
        match = self._wait_ready()
        self.url, self.port = match["url"], int(match["port"])
        self._http.verify = str(self.ca_bundle)

    def _wait_ready(self) -> re.Match[str]:
        assert self._process is not None and self._process.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        with selectors.DefaultSelector() as selector:
            selector.register(self._process.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if not selector.select(timeout=deadline - time.monotonic()):
                    break
                line = self._process.stdout.readline()
                if not line:
                    break
                match = READY.match(line.strip())
                if match:
                    return match
        self.stop()
        raise RuntimeError("the emulator did not report ready (see its stderr above)")

    def stop(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stdout:
            self._process.stdout.close()
        self._process = None

    def restart(self) -> None:
        """Stop and start again on the same port, with the same state directory."""
        port = self.port
        self.stop()
        self.start(port=port)

    def control(self, method: str, path: str, json: object = None) -> requests.Response:
        """Call the control API (``/__emulator__/...``) over HTTPS with the emulator's CA."""
        return self._http.request(method, self.url + path, json=json, timeout=30)


@contextlib.contextmanager
def running_emulator(state_dir: Path | str, **options: object) -> Iterator[EmulatorProcess]:
    """Start ``python -m sf_emulator serve`` (options as CLI flags) and stop it on exit."""
    emulator = EmulatorProcess(Path(state_dir), options)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()
