"""What the benchmarks start: a scratch database (SQLite file or a PostgreSQL database created and
dropped here), the app's environment aimed at an emulator, and `manage.py` runs and processes."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import jwt
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.processes import AppProcess, app_process, wait_for  # noqa: E402

__all__ = [
    "POSTGRES",
    "REDIS",
    "ROOT",
    "AppProcess",
    "app_env",
    "app_process",
    "group_cpu_seconds",
    "host_speed_seconds",
    "login",
    "manage",
    "percentile",
    "postgres_database",
    "scratch_database",
    "wait_for",
]

# The servers the PostgreSQL runs use (scratch databases are created and dropped on them).
POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")


def app_env(connection_env: dict[str, str], *, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of every app process: the emulated org, the scratch database, no LLM."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "Q_", "PYTEST"))}
    env.pop("REDIS_URL", None)
    env.update(connection_env)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "flywheel_site.settings",
            "SECRET_KEY": "bench-only-secret-key",
            "DEBUG": "false",
            "DATABASE_URL": database_url,
            "ANTHROPIC_API_KEY": "",
            "PYTHONUNBUFFERED": "1",
            "REQUESTS_CA_BUNDLE": "",
        }
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@contextmanager
def postgres_database(name: str) -> Iterator[str]:
    """Create database ``name`` on the local PostgreSQL server, yield its URL, drop it."""
    import psycopg

    try:
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        raise SystemExit(
            f"PostgreSQL at {POSTGRES} cannot create a scratch database ({exc}). Start it, or"
            " point BENCH_POSTGRES_URL at a server where this user may CREATE DATABASE."
        ) from exc
    try:
        yield f"{POSTGRES}/{name}"
    finally:
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def scratch_database(kind: str, *, directory: Path, name: str) -> Iterator[str]:
    """A fresh database URL: ``sqlite`` (a file in ``directory``) or ``postgres``."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / (name + '.sqlite3')}"
        return
    with postgres_database(name) as url:
        yield url


def host_speed_seconds(iterations: int = 5_000_000) -> float:
    """Seconds this host takes for a fixed pure-Python loop (best of three): printed beside the
    figures so runs on hosts of different speed can be compared (throughput x these seconds)."""
    best = float("inf")
    for _ in range(3):
        started, total = time.perf_counter(), 0
        for number in range(iterations):
            total += number
        best = min(best, time.perf_counter() - started)
    return best


def group_cpu_seconds(pgid: int) -> float:
    """CPU seconds (user + system) used so far by a process group: the live members and the
    children they have already reaped (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        if int(fields[2]) == pgid:  # fields[0] is the state; pgrp is the 5th field of stat
            total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return total / ticks


def percentile(values: list[float], q: float) -> float:
    """The q-th quantile (0..1) by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    if q == 0.5:
        return statistics.median(values)
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def login(connection_env: dict[str, str], *, api: str = "/services/data/v59.0") -> requests.Session:
    """A requests session holding the integration user's bearer token (the app's JWT login) and
    ``base_url`` = the instance URL + ``api``, for benchmarks that drive the emulator directly."""
    claims = {
        "iss": connection_env["SF_CONSUMER_KEY"],
        "sub": connection_env["SF_USERNAME"],
        "aud": connection_env["SF_LOGIN_URL"],
        "exp": int(time.time()) + 180,
    }
    key = Path(connection_env["SF_PRIVATE_KEY_FILE"]).read_text()
    token = requests.post(
        connection_env["SF_LOGIN_URL"] + "/services/oauth2/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": jwt.encode(claims, key, algorithm="RS256"),
        },
        verify=connection_env["SF_CA_BUNDLE"],
        timeout=10,
    ).json()
    session = requests.Session()
    session.verify = connection_env["SF_CA_BUNDLE"]
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
    session.headers["Authorization"] = f"Bearer {token['access_token']}"
    session.base_url = token["instance_url"] + api  # type: ignore[attr-defined]
    return session
