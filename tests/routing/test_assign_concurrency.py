"""Two workers routing the same lead at once (a re-delivered event in another batch): one routes
it, the other finds it routed; neither batch fails. Real transactions on two connections."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from routing.models import Assignment
from routing.services import assign
from tests.routing.fakes import FakeClient
from tests.routing.test_assign import lead_event, route

pytestmark = pytest.mark.django_db(transaction=True)


def _in_thread(target, results: dict, key: str) -> threading.Thread:
    def run() -> None:
        try:
            results[key] = target()
        except Exception as exc:  # the assertion below names it
            results[key] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=key, daemon=True)
    thread.start()
    return thread


def test_a_lead_routed_by_two_workers_at_once_is_assigned_once_and_neither_batch_fails(
    loaded_policy, monkeypatch
):
    first = lead_event(NumberOfEmployees=15, Country="USA")
    again = lead_event(lead_id=first.record_id, NumberOfEmployees=15, Country="USA")
    inserted, release = threading.Event(), threading.Event()
    real_insert = assign.rows_insert

    def insert_then_hold(rows, **kwargs):
        result = real_insert(rows, **kwargs)
        if threading.current_thread().name == "first":
            inserted.set()  # the first worker's ledger row exists, uncommitted
            assert release.wait(20)
        return result

    monkeypatch.setattr(assign, "rows_insert", insert_then_hold)
    clients = {"first": FakeClient(), "second": FakeClient()}
    results: dict = {}

    worker_one = _in_thread(lambda: route([first], clients["first"]), results, "first")
    assert inserted.wait(20)
    worker_two = _in_thread(lambda: route([again], clients["second"]), results, "second")
    worker_two.join(0.5)  # the second worker is now waiting on the first one's transaction
    release.set()
    worker_one.join(20)
    worker_two.join(20)

    assert not isinstance(results["first"], Exception), results["first"]
    assert not isinstance(results["second"], Exception), results["second"]
    assert results["first"].written == 1
    assert results["second"].already_routed == 1 and results["second"].written == 0
    assert Assignment.objects.filter(lead_id=first.record_id).count() == 1
    assert clients["second"].calls == []
