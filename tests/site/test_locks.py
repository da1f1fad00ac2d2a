"""keys_claimed (keys_locked on SQLite, and on any database): claims taken all or none, released after the block, taken over from a
holder that is gone, and never waited for longer than the configured time."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys

import pytest
from django.utils import timezone

from flywheel_site import locks
from flywheel_site.locks import keys_claimed
from flywheel_site.models import KeyClaim

pytestmark = pytest.mark.django_db


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _claimed(key: str, *, holder: str, age_seconds: float = 0) -> None:
    at = timezone.now() - dt.timedelta(seconds=age_seconds)
    KeyClaim.objects.create(key=key, holder=holder, claimed_at=at)


def test_the_block_holds_every_key_and_releases_them_after():
    with keys_claimed(namespace="ttfr", keys=["00Q1", "00Q2", "00Q1"]):
        held = dict(KeyClaim.objects.values_list("key", "holder"))
        assert sorted(held) == ["ttfr:00Q1", "ttfr:00Q2"]
        assert len(set(held.values())) == 1
        assert next(iter(held.values())).startswith(f"{socket.gethostname()}:{os.getpid()}:")
    assert not KeyClaim.objects.exists()


def test_claims_are_released_when_the_block_raises():
    with pytest.raises(RuntimeError), keys_claimed(namespace="ttfr", keys=["00Q1"]):
        raise RuntimeError("Salesforce down")
    assert not KeyClaim.objects.exists()


def test_a_claim_of_a_process_that_is_gone_is_taken_over_at_once(monkeypatch):
    monkeypatch.setattr(locks, "CLAIM_WAIT_SECONDS", 30.0)
    _claimed("ttfr:00Q1", holder=f"{socket.gethostname()}:{_dead_pid()}:1:killed")
    started = timezone.now()

    with keys_claimed(namespace="ttfr", keys=["00Q1"]):
        assert KeyClaim.objects.get().holder.startswith(f"{socket.gethostname()}:{os.getpid()}:")
    assert (timezone.now() - started).total_seconds() < 5


def test_a_live_holder_is_waited_for_no_longer_than_the_wait_then_the_block_runs(
    monkeypatch, caplog
):
    # given another live worker (this process, another thread) holds one of the keys
    monkeypatch.setattr(locks, "CLAIM_WAIT_SECONDS", 0.3)
    _claimed("ttfr:00Q2", holder=f"{socket.gethostname()}:{os.getpid()}:2:other")
    ran = []
    # when a block wants it and another key
    with keys_claimed(namespace="ttfr", keys=["00Q1", "00Q2"]):
        ran.append(True)
        # then it took none of them (all or none) and ran after the wait, saying so
        assert list(KeyClaim.objects.values_list("key", flat=True)) == ["ttfr:00Q2"]
    assert ran == [True]
    assert "still claimed by another worker" in caplog.text
    assert KeyClaim.objects.get().holder.endswith(":other")  # the other worker's claim stays


def test_a_claim_older_than_the_stale_age_is_taken_over_whoever_holds_it():
    _claimed("ttfr:00Q1", holder="other-host:123:1:lost", age_seconds=locks.CLAIM_STALE_SECONDS + 5)
    _claimed("ttfr:00Q3", holder="other-host:123:1:fresh")

    with keys_claimed(namespace="ttfr", keys=["00Q1"]):
        holders = dict(KeyClaim.objects.values_list("key", "holder"))
    assert holders["ttfr:00Q1"].startswith(socket.gethostname())
    assert dict(KeyClaim.objects.values_list("key", "holder")) == {
        "ttfr:00Q3": "other-host:123:1:fresh"
    }


def test_a_claim_another_worker_inserts_meanwhile_wins_and_this_call_takes_none(monkeypatch):
    # given another worker's claim lands between this call's check and its insert (PostgreSQL
    # under READ COMMITTED: no write lock taken at BEGIN as SQLite's)
    real = KeyClaim.objects.bulk_create

    def rival_first(claims, **kwargs):
        real([KeyClaim(key="ttfr:00Q2", holder="rival", claimed_at=timezone.now())])
        return real(claims, **kwargs)

    monkeypatch.setattr(KeyClaim.objects, "bulk_create", rival_first)
    # when the claim is taken
    taken = locks._claims_take(["ttfr:00Q1", "ttfr:00Q2"], holder="me")
    # then it failed whole: the rival's row stands and none of this call's remain
    assert taken is False
    assert dict(KeyClaim.objects.values_list("key", "holder")) == {"ttfr:00Q2": "rival"}
