"""Two workers recomputing the same lead's first response at once (two batches with touches of
it, or a batch the sweep re-runs beside a fresh one). Real transactions on two connections."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from tests.routing.test_assign_concurrency import _in_thread
from tests.ttfr.fakes import LEAD_A, REP_2, T0, FakeClient, lead, task
from ttfr.services import detect
from ttfr.services.detect import leads_recompute

pytestmark = pytest.mark.django_db(transaction=True)
NOW = T0 + dt.timedelta(days=1)


class _HeldClient(FakeClient):
    """The thread named "first" stops between its read and its write until released; every read notes whether a
    transaction was open on the reading thread's connection."""

    def __init__(self) -> None:
        super().__init__()
        self.reading, self.release = threading.Event(), threading.Event()
        self.in_transaction: list[bool] = []

    def query_ids_many(self, templates, ids, **kwargs):
        self.in_transaction.append(connection.in_atomic_block)
        rows = super().query_ids_many(templates, ids, **kwargs)
        if threading.current_thread().name == "first":
            self.reading.set()  # read, not yet written
            assert self.release.wait(20)
        return rows


def _org() -> _HeldClient:
    client = _HeldClient()
    client.add("Lead", lead(LEAD_A))
    client.add("Task", task(at=T0 + dt.timedelta(minutes=25), owner=REP_2))
    return client


def _race(client: _HeldClient) -> dict:
    results: dict = {}

    def recompute():
        return leads_recompute(client=client, lead_ids=[LEAD_A], now=NOW)

    first = _in_thread(recompute, results, "first")
    assert client.reading.wait(20)
    second = _in_thread(recompute, results, "second")
    second.join(0.5)  # on PostgreSQL the second worker now waits for the first one's lock
    client.release.set()
    first.join(20)
    second.join(20)
    for name in ("first", "second"):
        assert not isinstance(results[name], Exception), results[name]
    return results


def test_a_first_response_two_workers_compute_at_once_is_written_once():
    client = _org()

    results = _race(client)

    # the second worker read after the first one's write: nothing left to write
    assert len(client.updates) == 1
    assert (results["first"].updated, results["second"].updated) == (1, 0)
    assert results["second"].unchanged == 1
    # PostgreSQL: advisory locks in a transaction; SQLite: claims, and no transaction open
    # across the Salesforce calls (it would hold the whole database's write lock)
    postgres = connection.vendor == "postgresql"
    assert client.in_transaction == [postgres, postgres]


def test_a_large_batch_holds_at_most_200_lead_locks_at_a_time(monkeypatch):
    # PostgreSQL's lock table is shared by every connection: a worker holding a whole batch's
    # locks through its Salesforce calls would crowd out the others
    client = FakeClient()
    lead_ids = [f"00Q5f{n:010d}AAA" for n in range(450)]
    for lead_id in lead_ids:
        client.add("Lead", lead(lead_id))
        client.add("Task", task(lead_id, at=T0 + dt.timedelta(minutes=5), owner=REP_2))
    held: list[int] = []
    real = detect.keys_locked

    def counting(*, namespace, keys):
        held.append(len(set(keys)))
        return real(namespace=namespace, keys=keys)

    monkeypatch.setattr(detect, "keys_locked", counting)

    result = leads_recompute(client=client, lead_ids=lead_ids, now=NOW)

    assert held == [200, 200, 50]
    assert (result.leads, result.updated) == (450, 450)
    assert sorted(update["Id"] for call in client.updates for update in call) == lead_ids
