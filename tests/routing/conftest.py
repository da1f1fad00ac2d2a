"""Shared routing fixtures: the default policy loaded from config, a clock, a distributor."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from routing.engine.distribute import Distributor, RepHours
from routing.engine.policy import CompiledPolicy, compile_snapshot
from routing.services.config import policy_load_file

CONFIG = Path(__file__).resolve().parents[2] / "config" / "routing_policy.json"
# A Wednesday at 16:30 UTC: 08:30 in Los Angeles, 17:30 in Berlin (APAC is asleep).
WORKDAY = dt.datetime(2026, 11, 25, 16, 30, tzinfo=dt.UTC)


@pytest.fixture
def loaded_policy(db):
    return policy_load_file(path=CONFIG).policy


@pytest.fixture
def policy(loaded_policy) -> CompiledPolicy:
    return compile_snapshot(loaded_policy.snapshot)


def always_available() -> RepHours:
    return RepHours(
        time_zone="UTC", start=dt.time(0, 0), end=dt.time(23, 59, 59), days=frozenset(range(7))
    )


def make_distributor(
    policy: CompiledPolicy,
    *,
    reps: dict[str, RepHours] | None = None,
    open_leads: dict[str, int] | None = None,
    now: dt.datetime = WORKDAY,
) -> Distributor:
    if reps is None:
        ids = {m.user_id for p in policy.pools_by_name.values() for m in p.members}
        reps = {user_id: always_available() for user_id in ids}
    return Distributor(policy=policy, reps=reps, open_leads=open_leads or {}, cursors={}, now=now)


@pytest.fixture(autouse=True)
def _integration_user(settings) -> None:
    """The emulator's seeded integration user (a real deployment reads it from its login)."""
    settings.SF_INTEGRATION_USER_ID = "0055f000000001cAAA"
