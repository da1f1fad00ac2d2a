"""A small process supervisor for `manage.py demo`: start children, prefix and colour their logs,
stop them all cleanly on Ctrl-C (or when one of them dies)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

COLOURS = ("\033[36m", "\033[33m", "\033[35m", "\033[32m", "\033[34m", "\033[31m")
RESET = "\033[0m"


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    process: subprocess.Popen | None = None
    on_line: Callable[[str], None] | None = None
    reader: threading.Thread | None = field(default=None, repr=False)


class Supervisor:
    def __init__(self, *, out=sys.stdout, colour: bool | None = None) -> None:
        self.children: list[Child] = []
        self._out = out
        self._colour = out.isatty() if colour is None else colour
        self._lock = threading.Lock()
        self.stopping = threading.Event()

    def log(self, name: str, line: str, index: int = 0) -> None:
        prefix = f"{name:>9} | "
        if self._colour:
            prefix = COLOURS[index % len(COLOURS)] + prefix + RESET
        with self._lock:
            self._out.write(prefix + line.rstrip("\n") + "\n")
            self._out.flush()

    def start(self, child: Child) -> Child:
        index = len(self.children)
        child.process = subprocess.Popen(
            child.argv,
            env=child.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,  # Ctrl-C goes to us; we stop children in order
        )
        child.reader = threading.Thread(target=self._pump, args=(child, index), daemon=True)
        child.reader.start()
        self.children.append(child)
        return child

    def run(self, child: Child) -> int:
        """Run a one-off child to completion (logs prefixed like the others); its exit code.

        It counts as a child while it runs, so ``stop()`` (Ctrl-C meanwhile) ends it too.
        """
        self.start(child)
        assert child.process is not None
        try:
            code = child.process.wait()
        finally:
            if child.reader is not None:
                child.reader.join(timeout=5)
        self.children.remove(child)
        return code

    def _pump(self, child: Child, index: int) -> None:
        assert child.process is not None and child.process.stdout is not None
        for line in child.process.stdout:
            if child.on_line:
                child.on_line(line)
            self.log(child.name, line, index)

    def wait(self) -> int:
        """Block until Ctrl-C/SIGTERM or a child exits; then stop everything. Returns exit code."""
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        for sig in previous:
            signal.signal(sig, lambda *_: self.stopping.set())
        try:
            while not self.stopping.is_set():
                dead = [c for c in self.children if c.process and c.process.poll() is not None]
                if dead:
                    self.log(
                        "demo",
                        f"{dead[0].name} exited with code {dead[0].process.returncode}; stopping",
                    )
                    self.stop()
                    return 1
                time.sleep(0.3)
            self.stop()
            return 0
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop children one by one in reverse start order (the emulator, started first, goes
        last, so the others never see it vanish): SIGTERM to the child itself, which stops its
        own workers (qcluster), then SIGKILL to its whole group after ``timeout`` seconds."""
        running = [c for c in reversed(self.children) if c.process and c.process.poll() is None]
        if running:
            self.log("demo", "stopping " + ", ".join(child.name for child in running))
        for child in running:
            assert child.process is not None
            with contextlib.suppress(ProcessLookupError):
                child.process.send_signal(signal.SIGTERM)
            try:
                child.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.log("demo", f"{child.name} did not stop in {timeout:g} s; killing it")
            # Whatever the child left behind in its group (workers) goes too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.process.pid, signal.SIGKILL)
            child.process.wait()
        if running:
            self.log("demo", "all stopped")
