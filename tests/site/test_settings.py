"""Settings are read from the environment; the defaults serve the embedded mode."""

import os
import subprocess
import sys
from pathlib import Path

import environ
import pytest
from django.core.exceptions import ImproperlyConfigured

from flywheel_site import env as env_settings

BASE = Path("/srv/flywheel")


def make_env(monkeypatch: pytest.MonkeyPatch, **values: str) -> environ.Env:
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "Q_TIMEOUT", "Q_RETRY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return environ.Env()


def test_default_database_is_sqlite_file_with_immediate_transactions(monkeypatch):
    env = make_env(monkeypatch)

    config = env_settings.database(env, base_dir=BASE)

    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == "/srv/flywheel/var/db.sqlite3"
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert config["OPTIONS"]["timeout"] >= 20


def test_postgres_url_switches_engine(monkeypatch):
    env = make_env(monkeypatch, DATABASE_URL="postgres://flywheel:pw@db.internal:5432/flywheel")

    config = env_settings.database(env, base_dir=BASE)

    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.internal", 5432, "flywheel")
    assert config["CONN_HEALTH_CHECKS"] is True


def test_orm_broker_by_default_and_redis_when_url_set(monkeypatch):
    orm = env_settings.q_cluster(make_env(monkeypatch))
    redis = env_settings.q_cluster(make_env(monkeypatch, REDIS_URL="redis://127.0.0.1:6379/0"))

    assert orm["orm"] == "default" and "redis" not in orm
    assert redis["redis"] == "redis://127.0.0.1:6379/0" and "orm" not in redis


def test_q_cluster_retries_are_bounded_and_timeout_below_retry(monkeypatch):
    config = env_settings.q_cluster(make_env(monkeypatch))

    assert config["timeout"] < config["retry"]
    assert 1 <= config["max_attempts"] <= 10


def test_timeout_not_below_retry_is_refused(monkeypatch):
    env = make_env(monkeypatch, Q_TIMEOUT="300", Q_RETRY="200")

    with pytest.raises(ImproperlyConfigured, match="Q_TIMEOUT"):
        env_settings.q_cluster(env)


def test_missing_secret_key_without_debug_explains_what_to_set(monkeypatch):
    env = make_env(monkeypatch)

    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY is not set"):
        env_settings.secret_key(env, debug=False)


def test_debug_gets_an_insecure_development_key(monkeypatch):
    assert env_settings.secret_key(make_env(monkeypatch), debug=True).startswith("django-insecure")


def test_environment_secret_key_wins(monkeypatch):
    env = make_env(monkeypatch, SECRET_KEY="from-env")

    assert env_settings.secret_key(env, debug=False) == "from-env"


def test_redis_url_switches_the_shared_cache(monkeypatch):
    file_cache = env_settings.cache(make_env(monkeypatch), base_dir=BASE)
    redis_cache = env_settings.cache(
        make_env(monkeypatch, REDIS_URL="redis://r:6379/1"), base_dir=BASE
    )

    assert file_cache["default"]["BACKEND"].endswith("FileBasedCache")
    assert redis_cache["default"]["BACKEND"].endswith("RedisCache")


def test_structured_settings_are_read_from_the_environment():
    values = {
        "TTFR_SLA_MINUTES_BY_SEGMENT": '{"ENT": 30, "MM": 45}',
        "TTFR_SLA_ACTIONS": "notify,reassign",
        "TTFR_BUSINESS_HOURS": '{"EMEA": {"time_zone": "Europe/Paris"}}',
        "SF_RETRY_ATTEMPTS": "7",
    }
    code = (
        "from django.conf import settings as s; "
        "print(s.TTFR_SLA_MINUTES_BY_SEGMENT, s.TTFR_SLA_ACTIONS, s.TTFR_BUSINESS_HOURS, "
        "s.SF_RETRY_ATTEMPTS)"
    )
    env = {**os.environ, **values, "DJANGO_SETTINGS_MODULE": "flywheel_site.settings_test"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + code],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )

    assert result.stdout.split("\n")[0] == (
        "{'ENT': 30, 'MM': 45} ['notify', 'reassign'] {'EMEA': {'time_zone': 'Europe/Paris'}} 7"
    ), result.stderr


def test_sqlite_commits_without_an_fsync_each_in_wal_mode(monkeypatch, tmp_path, django_db_blocker):
    from django.db.utils import ConnectionHandler

    config = env_settings.database(
        make_env(monkeypatch, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}"),
        base_dir=tmp_path,
    )
    connection = ConnectionHandler({"default": config})["default"]
    try:
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            journal = cursor.execute("PRAGMA journal_mode").fetchone()[0]
            synchronous = cursor.execute("PRAGMA synchronous").fetchone()[0]
    finally:
        connection.close()

    assert (journal, synchronous) == ("wal", 1)  # 1 = NORMAL


def test_q_cluster_stores_failed_tasks_only(monkeypatch):
    config = env_settings.q_cluster(make_env(monkeypatch))

    assert config["save_limit"] < 0 and config["ack_failures"] is True
