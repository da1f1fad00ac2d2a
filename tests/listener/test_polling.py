"""Polling: SystemModstamp rounds with a durable watermark and an overlap window."""

import datetime as dt

import pytest

from salesforce import inbox, listener
from salesforce.dispatch import OWNER_CHANGES, ROUTE_LEADS
from salesforce.models import ChangeEvent, ReplayPosition
from tests.listener.factories import INTEGRATION_USER, REP

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


def sf_time(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def lead(lead_id: str, *, created: dt.datetime, modified: dt.datetime, by: str) -> dict:
    return {
        "attributes": {"type": "Lead"},
        "Id": lead_id,
        "LastName": "Doe",
        "Company": "Acme",
        "CreatedDate": sf_time(created),
        "CreatedById": REP,
        "LastModifiedDate": sf_time(modified),
        "LastModifiedById": by,
        "SystemModstamp": sf_time(modified),
    }


class FakeClient:
    def __init__(self, leads: list[dict]) -> None:
        self.leads = leads

    def query_all(self, soql: str) -> list[dict]:
        return self.leads if " FROM Lead " in soql else []


@pytest.fixture
def enqueued(monkeypatch) -> list[tuple[str, list[int]]]:
    """(workload task, event ids) for every workload of every batch task enqueued."""
    calls: list[tuple[str, list[int]]] = []
    monkeypatch.setattr(
        "salesforce.inbox.async_task", lambda path, plan, **_: calls.extend(plan.items())
    )
    return calls


def test_lead_created_and_edited_by_a_rep_between_rounds_is_still_routed(enqueued):
    created = START + dt.timedelta(seconds=1)
    edited = lead(
        "00Q5f000001AbCdEAK", created=created, modified=created + dt.timedelta(seconds=9), by=REP
    )

    count = listener.poll_once(
        client=FakeClient([edited]),
        integration_user_id=INTEGRATION_USER,
        state=listener.PollState(),
        start=START,
    )

    assert count == 1
    assert ChangeEvent.objects.get().change_type == "CREATE"
    assert [path for path, _ in enqueued if path == ROUTE_LEADS] == [ROUTE_LEADS]


def test_lead_known_before_the_watermark_edited_by_a_rep_is_an_owner_change(enqueued):
    old = START - dt.timedelta(days=3)
    edited = lead(
        "00Q5f000001AbCdEAK", created=old, modified=START + dt.timedelta(seconds=5), by=REP
    )

    listener.poll_once(
        client=FakeClient([edited]),
        integration_user_id=INTEGRATION_USER,
        state=listener.PollState(),
        start=START,
    )

    assert ChangeEvent.objects.get().change_type == "UPDATE"
    assert [path for path, _ in enqueued] == [OWNER_CHANGES]


def test_round_moves_the_durable_watermark_and_skips_what_it_saw(enqueued):
    stamp = START + dt.timedelta(seconds=3)
    client = FakeClient([lead("00Q5f000001AbCdEAK", created=stamp, modified=stamp, by=REP)])
    state = listener.PollState()

    first = listener.poll_once(
        client=client, integration_user_id=INTEGRATION_USER, state=state, start=START
    )
    again = listener.poll_once(
        client=client, integration_user_id=INTEGRATION_USER, state=state, start=START
    )

    assert (first, again) == (1, 0)
    assert ReplayPosition.objects.get(channel="poll:Lead").watermark == stamp
    assert state.last_commit == stamp


def test_polling_that_stands_in_for_the_stream_starts_where_the_stream_is_complete():
    # Given a stream complete to 12:00 on Lead and a stale polling watermark from an earlier
    # stand-in; Task's stream is older than its polling watermark; EmailMessage never streamed
    ReplayPosition.objects.create(channel="/data/LeadChangeEvent", commit_timestamp=START)
    ReplayPosition.objects.create(channel="poll:Lead", watermark=START - dt.timedelta(days=1))
    ReplayPosition.objects.create(
        channel="/data/TaskChangeEvent", commit_timestamp=START - dt.timedelta(hours=2)
    )
    ReplayPosition.objects.create(channel="poll:Task", watermark=START - dt.timedelta(hours=1))

    marks = inbox.poll_watermarks_from_stream(
        channels={
            "/data/LeadChangeEvent": "poll:Lead",
            "/data/TaskChangeEvent": "poll:Task",
            "/data/EmailMessageChangeEvent": "poll:EmailMessage",
        }
    )

    # Then each polling watermark moves up to the stream's mark, never back
    assert marks == {"poll:Lead": START, "poll:Task": START - dt.timedelta(hours=1)}
    assert ReplayPosition.objects.get(channel="poll:Lead").watermark == START
    assert ReplayPosition.objects.get(channel="poll:EmailMessage").watermark is None
