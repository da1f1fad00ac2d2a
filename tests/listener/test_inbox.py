"""Events are durable before replay ids move; duplicates are dropped; dispatch is batched."""

import datetime as dt

import pytest

from salesforce import inbox, lease
from salesforce.cdc import parse_message
from salesforce.dispatch import PROCESS_ACTIVITY, ROUTE_LEADS
from salesforce.models import ChangeEvent, ListenerLease, ReplayPosition
from tests.listener.factories import INTEGRATION_USER, cdc_message

pytestmark = pytest.mark.django_db


def parsed(**kwargs):
    return parse_message(cdc_message(**kwargs))


def test_store_writes_events_and_replay_position_together():
    changes = parsed(replay_id=10) + parsed(replay_id=11)
    positions = {"/data/LeadChangeEvent": (11, changes[-1].commit_timestamp)}

    ids = inbox.events_store(changes=changes, source="cdc", positions=positions)

    assert ChangeEvent.objects.filter(id__in=ids).count() == 2
    assert ReplayPosition.objects.get(channel="/data/LeadChangeEvent").replay_id == 11


def test_redelivered_events_are_stored_once():
    first = inbox.events_store(changes=parsed(replay_id=20), source="cdc")
    again = inbox.events_store(changes=parsed(replay_id=20) + parsed(replay_id=20), source="cdc")

    assert len(first) == 1 and again == []
    assert ChangeEvent.objects.count() == 1


def test_replay_position_never_moves_backwards():
    inbox.replay_position_save(channel="c", replay_id=50, commit_timestamp=None)
    inbox.replay_position_save(channel="c", replay_id=40, commit_timestamp=None)

    assert inbox.replay_position_get("c").replay_id == 50


def test_dispatch_enqueues_one_task_per_batch_with_each_workloads_events():
    ids = inbox.events_store(
        changes=[c for i in range(30) for c in parsed(replay_id=300 + i)]
        + parsed(entity="Task", record_ids=["00T5f000001AbCdEAK"], replay_id=400),
        source="cdc",
    )
    plans = []

    counts = inbox.events_dispatch(
        event_ids=ids, integration_user_id=INTEGRATION_USER, enqueue=plans.append
    )

    assert len(plans) == 1
    assert plans[0][ROUTE_LEADS] == ids[:30] and plans[0][PROCESS_ACTIVITY] == ids
    assert counts[ROUTE_LEADS] == 30 and counts[PROCESS_ACTIVITY] == 31
    assert not ChangeEvent.objects.filter(dispatched_at__isnull=True).exists()


def test_a_large_dispatch_is_split_into_tasks_of_at_most_task_chunk_events(monkeypatch):
    monkeypatch.setattr(inbox, "TASK_CHUNK", 4)
    ids = inbox.events_store(
        changes=[c for i in range(10) for c in parsed(replay_id=700 + i)], source="cdc"
    )
    plans = []

    inbox.events_dispatch(event_ids=ids, integration_user_id=INTEGRATION_USER, enqueue=plans.append)

    assert [plan[ROUTE_LEADS] for plan in plans] == [ids[0:4], ids[4:8], ids[8:10]]


def test_interrupted_dispatch_is_completed_later():
    ids = inbox.events_store(changes=parsed(replay_id=500), source="cdc")
    plans = []

    count = inbox.events_dispatch_pending(
        integration_user_id=INTEGRATION_USER, enqueue=plans.append
    )

    assert count == 1 and all(ids == event_ids for plan in plans for event_ids in plan.values())


def test_broker_failure_mid_dispatch_queues_nothing_and_leaves_events_pending(monkeypatch):
    from django_q.models import OrmQ

    monkeypatch.setattr(inbox, "TASK_CHUNK", 1)
    ids = inbox.events_store(
        changes=parsed(replay_id=600) + parsed(replay_id=601, record_ids=["00Q5f000001BbBbEAK"]),
        source="cdc",
    )

    def enqueue(plan):  # the ORM broker: a queue row, then the broker fails
        if OrmQ.objects.exists():
            raise ConnectionError("broker down")
        OrmQ.objects.create(key="bench", payload=repr(plan), lock=dt.datetime.now(dt.UTC))

    with pytest.raises(ConnectionError):
        inbox.events_dispatch(event_ids=ids, integration_user_id=INTEGRATION_USER, enqueue=enqueue)

    assert not OrmQ.objects.exists()
    assert ChangeEvent.objects.filter(id__in=ids, dispatched_at__isnull=True).count() == 2


def test_storing_nothing_touches_no_table(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert inbox.events_store(changes=[], source="reconcile") == []


def test_only_one_listener_holds_the_lease_until_it_expires():
    assert lease.lease_acquire(holder="a", seconds=5)
    assert not lease.lease_acquire(holder="b", seconds=5)
    assert lease.lease_acquire(holder="a", seconds=5)

    ListenerLease.objects.update(expires_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))

    assert lease.lease_acquire(holder="b", seconds=5)
    assert not lease.lease_acquire(holder="a", seconds=5)


def test_released_lease_is_free_at_once():
    lease.lease_acquire(holder="a")
    lease.lease_release(holder="a")

    assert lease.lease_acquire(holder="b")
