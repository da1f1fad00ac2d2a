"""The demo's process supervisor: prefixed logs, one-off runs, an orderly stop of every child."""

import io
import sys
import time

from flywheel_site.supervisor import Child, Supervisor

SLEEPER = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"]


def test_run_returns_the_exit_code_with_prefixed_output():
    out = io.StringIO()
    supervisor = Supervisor(out=out, colour=False)

    code = supervisor.run(
        Child("once", [sys.executable, "-c", "print('hello'); raise SystemExit(3)"], {})
    )

    assert code == 3
    assert "     once | hello" in out.getvalue()
    assert supervisor.children == []


def test_stop_ends_children_last_started_first_and_leaves_none_running():
    out = io.StringIO()
    supervisor = Supervisor(out=out, colour=False)
    first = supervisor.start(Child("first", SLEEPER, {}))
    second = supervisor.start(Child("second", SLEEPER, {}))

    supervisor.stop(timeout=5)

    assert first.process.poll() is not None and second.process.poll() is not None
    assert "stopping second, first" in out.getvalue()
    assert out.getvalue().rstrip().endswith("all stopped")


def test_stop_kills_a_child_that_ignores_sigterm():
    stubborn = [
        sys.executable,
        "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('up', flush=True); time.sleep(60)",
    ]
    out = io.StringIO()
    supervisor = Supervisor(out=out, colour=False)
    child = supervisor.start(Child("stubborn", stubborn, {}))
    deadline = time.monotonic() + 10
    while "up" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)

    supervisor.stop(timeout=0.5)

    assert child.process.returncode is not None
    assert "stubborn did not stop in 0.5 s; killing it" in out.getvalue()
