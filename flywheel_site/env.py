"""Turn environment variables into Django settings pieces (pure functions, so they are testable)."""

from __future__ import annotations

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

UNSET_SIGNING_MESSAGE = (
    "SECRET_KEY is not set. Set SECRET_KEY in the environment or in .env to a long random value, "
    "for example the output of: python -c 'import secrets; print(secrets.token_urlsafe(50))'. "
    "For local development only, DEBUG=true provides an insecure default."
)
INSECURE_DEV_KEY = "django-insecure-flywheel-development-only"


def secret_key(env: environ.Env, *, debug: bool) -> str:
    value = env.str("SECRET_KEY", default="")
    if value:
        return value
    if debug:
        return INSECURE_DEV_KEY
    raise ImproperlyConfigured(UNSET_SIGNING_MESSAGE)


def database(env: environ.Env, *, base_dir: Path) -> dict:
    """DATABASE_URL when set (PostgreSQL in production), else the embedded SQLite file."""
    url = env.str("DATABASE_URL", default="")
    if url:
        config = env.db_url_config(url)
        if config["ENGINE"] == "django.db.backends.postgresql":
            config.setdefault("CONN_MAX_AGE", 60)
            config.setdefault("CONN_HEALTH_CHECKS", True)
        if config["ENGINE"] == "django.db.backends.sqlite3":
            config["OPTIONS"] = _sqlite_options()
        return config
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(base_dir / "var" / "db.sqlite3"),
        "OPTIONS": _sqlite_options(),
    }


def _sqlite_options() -> dict:
    # IMMEDIATE transactions and a busy timeout keep the django-q2 ORM broker and the listener
    # from failing with "database is locked" when they write at the same time. In WAL mode,
    # synchronous=NORMAL syncs the log at checkpoints instead of at every commit: a commit
    # survives an application crash (not a power cut), and the write lock is held for
    # microseconds instead of an fsync (about 8 ms a commit on the bench host, bench/README.md).
    return {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }


def q_cluster(env: environ.Env, *, sync: bool = False) -> dict:
    """django-q2: ORM broker by default, Redis when REDIS_URL is set; bounded retries."""
    config: dict = {
        "name": env.str("Q_CLUSTER_NAME", default="flywheel"),
        # Tasks mostly wait on Salesforce (an owner write is one ~100 ms+ round trip): with two
        # workers, 10 leads/s already queued behind those waits (bench/README.md).
        "workers": env.int("Q_WORKERS", default=4),
        # A new worker re-does its first-run work (imports, compiled policy, holiday tables):
        # replaced every 2,000 tasks rather than 500, as batches run as one task each.
        "recycle": 2000,
        "timeout": env.int("Q_TIMEOUT", default=120),
        "retry": env.int("Q_RETRY", default=180),
        "max_attempts": env.int("Q_MAX_ATTEMPTS", default=5),
        "ack_failures": True,
        # Only failures are stored: saving every success cost the monitor a locked read of up to
        # save_limit rows and two writes per task (bench/README.md). Nothing reads successes.
        "save_limit": -1,
        "catch_up": False,
        # The ORM broker sleeps this long when its queue is empty: up to that much is added to
        # each task's start (a cheap indexed read 20 times a second; Redis blocks instead).
        "poll": 0.05,
        "label": "Task queue",
        "sync": sync,
    }
    redis_url = env.str("REDIS_URL", default="")
    if redis_url:
        config["redis"] = redis_url
    else:
        config["orm"] = "default"
    if config["timeout"] >= config["retry"]:
        raise ImproperlyConfigured(
            f"Q_TIMEOUT ({config['timeout']}) must be lower than Q_RETRY ({config['retry']}), "
            "otherwise django-q2 hands a running task to a second worker."
        )
    return config


def cache(env: environ.Env, *, base_dir: Path) -> dict:
    """Shared between processes (the Salesforce token is cached here): Redis or a file cache."""
    redis_url = env.str("REDIS_URL", default="")
    if redis_url:
        return {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": redis_url,
            }
        }
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(base_dir / "var" / "cache"),
        }
    }
