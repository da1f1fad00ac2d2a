"""Production settings: DEBUG is off unless something turns it on (only `make demo` and the
development `make check` do), refuse to start without SECRET_KEY and pass `check --deploy`."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEBUG_ON = re.compile(r"\bDEBUG=(\$\$\{DEBUG:-)?(true|1|yes|on)\b", re.IGNORECASE)


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "SECRET_KEY", "DEBUG", "SECURE_", "Q_SYNC"))
    }
    base.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_secret_key_and_debug_the_app_refuses_with_a_clear_message():
    result = run_manage("check", DEBUG="false", SECRET_KEY="")

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_check_deploy_is_clean_with_production_environment():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECRET_KEY="x" * 20 + "a-long-random-production-secret-value-1234567890",
        ALLOWED_HOSTS="flywheel.example.com",
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_debug_is_off_when_nothing_sets_it():
    # The settings as a fresh process reads them, with no DEBUG in the environment and no .env
    # file (a developer's .env is theirs, not the default).
    probe = (
        "import environ; environ.Env.read_env = lambda *a, **k: None; "
        "from flywheel_site import settings; print(repr(settings.DEBUG))"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DEBUG"))}
    base["SECRET_KEY"] = "a-long-random-production-secret-value-1234567890"

    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=base, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_manage_py_runs_with_debug_off_by_default():
    if (ROOT / ".env").exists():
        pytest.skip("a developer's .env decides here; the probe above covers the code's default")
    probe = "from django.conf import settings; print(repr(settings.DEBUG))"

    result = run_manage(
        "shell", "--no-imports", "-c", probe, SECRET_KEY="a-long-random-secret-value-123456789"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_only_make_demo_and_the_development_check_turn_debug_on():
    targets_turning_debug_on = set()
    target = None
    for line in (ROOT / "Makefile").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z][\w-]*):", line)
        if match:
            target = match.group(1)
        elif line.startswith("\t") and DEBUG_ON.search(line):
            targets_turning_debug_on.add(target)
    shipped = [ROOT / ".env.example", *sorted((ROOT / "deploy").iterdir())]

    assert targets_turning_debug_on == {"demo", "check"}
    assert [path.name for path in shipped if DEBUG_ON.search(path.read_text("utf-8"))] == []
