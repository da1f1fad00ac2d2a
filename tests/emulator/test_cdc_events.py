"""The change-event log: Salesforce's CDC event shape, replay ids, retention and gap faults."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from sf_emulator.cdc import OVERFLOW_RECORD_ID, EventLog, channel_for, entities_for
from sf_emulator.changes import RecordChange
from tests.emulator.test_store import USER as REP_USER
from tests.emulator.test_store import open_store

INTEGRATION_USER = "0055f000000001cAAA"
REP = "0055f0000000001AAA"
LEAD = "00Q4x0000000001EAA"
CREATED = dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.UTC)


class FakeClock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def change(
    change_type: str = "CREATE",
    *,
    entity: str = "Lead",
    record_id: str = LEAD,
    fields: dict | None = None,
    changed: tuple[str, ...] = (),
    user_id: str = INTEGRATION_USER,
    client: str | None = None,
    transaction_key: str = "tx-1",
    sequence_number: int = 1,
    at: dt.datetime = CREATED,
) -> RecordChange:
    return RecordChange(
        entity=entity,
        change_type=change_type,  # type: ignore[arg-type]
        record_id=record_id,
        fields=fields or {},
        changed_fields=changed,
        user_id=user_id,
        client=client,
        transaction_key=transaction_key,
        sequence_number=sequence_number,
        commit_timestamp_ms=int(at.timestamp() * 1000),
    )


def lead_fields() -> dict:
    return {
        "Id": LEAD,
        "FirstName": "Ann",
        "LastName": "Smith",
        "Name": "Ann Smith",
        "Company": "Acme",
        "Country": "France",
        "City": "Paris",
        "NumberOfEmployees": 250,
        "CreatedDate": CREATED,
        "LastModifiedDate": CREATED,
    }


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(CREATED)


@pytest.fixture
def log(tmp_path: Path, clock: FakeClock) -> EventLog:
    events = EventLog(
        path=tmp_path / "events.sqlite3", clock=clock, integration_user_id=INTEGRATION_USER
    )
    yield events
    events.close()


def events_of(log: EventLog, *, entities: tuple[str, ...] = ("Lead", "Task", "EmailMessage")):
    return [json.loads(e.data_json) for e in log.read_after(0, entities=entities, limit=100)]


def test_create_event_carries_every_non_null_field_with_compound_fields_nested(log: EventLog):
    # Given a lead created through the API by the app (client=flywheel)
    # When the store publishes the change
    log.on_change(change(fields=lead_fields(), client="flywheel"))

    # Then one Salesforce-shaped change event exists
    [data] = events_of(log)
    payload = data["payload"]
    header = payload.pop("ChangeEventHeader")
    assert header["entityName"] == "Lead"
    assert header["recordIds"] == [LEAD]
    assert header["changeType"] == "CREATE"
    assert header["changeOrigin"] == "com/salesforce/api/rest/59.0;client=flywheel"
    assert header["commitTimestamp"] == int(CREATED.timestamp() * 1000)
    assert header["commitUser"] == INTEGRATION_USER
    assert header["transactionKey"] == "tx-1" and header["sequenceNumber"] == 1
    assert header["changedFields"] == []
    assert payload == {
        "Name": {"FirstName": "Ann", "LastName": "Smith"},
        "Company": "Acme",
        "Address": {"Country": "France", "City": "Paris"},
        "NumberOfEmployees": 250,
        "CreatedDate": "2024-01-01T12:00:00.000Z",
        "LastModifiedDate": "2024-01-01T12:00:00.000Z",
    }
    assert data["event"] == {"replayId": 1}
    assert len(data["schema"]) == 22


def test_update_event_names_changed_compound_parts_and_nulled_fields(log: EventLog):
    # Given a rep (a UI user) changing the last name, clearing the city and moving the lead
    later = CREATED + dt.timedelta(minutes=5)
    fields = {"LastName": "Smyth", "Name": "Ann Smyth", "City": None, "LastModifiedDate": later}

    # When the update is published
    log.on_change(change("UPDATE", fields=fields, changed=tuple(fields), user_id=REP))

    # Then only the changed fields travel, named the way Salesforce names them
    [data] = events_of(log)
    header = data["payload"]["ChangeEventHeader"]
    assert header["changeOrigin"] == "com/salesforce/ui"
    assert header["changedFields"] == ["Name.LastName", "Address.City", "LastModifiedDate"]
    assert header["nulledFields"] == ["Address.City"]
    assert data["payload"]["Name"] == {"LastName": "Smyth"}
    assert data["payload"]["Address"] == {"City": None}
    assert data["payload"]["LastModifiedDate"] == "2024-01-01T12:05:00.000Z"


def test_delete_event_is_header_only(log: EventLog):
    log.on_change(change("DELETE"))

    [data] = events_of(log)
    assert set(data["payload"]) == {"ChangeEventHeader"}
    assert data["payload"]["ChangeEventHeader"]["changeType"] == "DELETE"


def test_only_lead_task_and_email_message_changes_are_published(log: EventLog):
    log.on_change(change(entity="User", record_id="0055f0000000002AAA", fields={"LastName": "X"}))
    log.on_change(change(entity="Task", record_id="00T4x0000000001EAA", fields={"Subject": "Call"}))

    assert [d["payload"]["ChangeEventHeader"]["entityName"] for d in events_of(log)] == ["Task"]
    assert log.published == 1


def test_writes_of_one_transaction_share_a_commit_number(log: EventLog):
    # Given two records written in one transaction and one in the next
    log.on_change(change(transaction_key="a", sequence_number=1))
    log.on_change(change(transaction_key="a", sequence_number=2, record_id="00Q4x0000000002EAA"))
    log.on_change(change(transaction_key="b"))

    headers = [d["payload"]["ChangeEventHeader"] for d in events_of(log)]
    assert headers[0]["commitNumber"] == headers[1]["commitNumber"]
    assert headers[2]["commitNumber"] > headers[1]["commitNumber"]
    assert [h["sequenceNumber"] for h in headers] == [1, 2, 1]


def test_replay_ids_keep_growing_across_restarts(tmp_path: Path, clock: FakeClock):
    # Given a log with two events, closed as the emulator stops
    path = tmp_path / "events.sqlite3"
    first = EventLog(path=path, clock=clock, integration_user_id=INTEGRATION_USER)
    first.on_change(change())
    first.on_change(change("UPDATE", fields={"Company": "B"}, changed=("Company",)))
    first.reset()  # even after a reset nothing is replayable, the numbering goes on
    first.close()

    # When it starts again and publishes
    second = EventLog(path=path, clock=clock, integration_user_id=INTEGRATION_USER)
    second.on_change(change("DELETE"))

    # Then the new event gets the next replay id, and an old id is still a valid position
    assert [e.replay_id for e in second.read_after(0, entities=("Lead",), limit=10)] == [3]
    assert second.is_valid_replay_id(2)
    assert not second.is_valid_replay_id(1)
    second.close()


def test_events_past_retention_are_forgotten(log: EventLog, clock: FakeClock):
    # Given an event published now and another 70 hours later
    log.on_change(change())
    clock.now = CREATED + dt.timedelta(hours=70)
    log.on_change(change("DELETE", at=clock.now))

    # When the org's clock passes 72 hours after the first
    clock.now = CREATED + dt.timedelta(hours=72, minutes=1)

    # Then the first is gone and resuming from before it is invalid; the second still replays
    assert not log.is_valid_replay_id(0)
    assert log.is_valid_replay_id(1)
    assert [e.replay_id for e in log.read_after(0, entities=("Lead",), limit=10)] == [2]


def test_retention_window_is_configurable(log: EventLog, clock: FakeClock):
    log.on_change(change())
    log.apply_faults({"retention_hours": 1})
    clock.now = CREATED + dt.timedelta(hours=2)

    assert log.read_after(0, entities=("Lead",), limit=10) == []
    assert log.stats()["oldest_replayable_id"] == 1


def test_gap_next_turns_the_next_changes_into_header_only_gap_events(log: EventLog):
    # Given the next two changes are to arrive as gaps
    log.apply_faults({"gap_next": 2})

    # When three changes happen
    log.on_change(change(fields=lead_fields()))
    log.on_change(change("UPDATE", fields={"Company": "B"}, changed=("Company",)))
    log.on_change(change("UPDATE", fields={"Company": "C"}, changed=("Company",)))

    # Then the first two are GAP_CREATE / GAP_UPDATE without fields, the third is normal
    data = events_of(log)
    types = [d["payload"]["ChangeEventHeader"]["changeType"] for d in data]
    assert types == ["GAP_CREATE", "GAP_UPDATE", "UPDATE"]
    assert set(data[0]["payload"]) == {"ChangeEventHeader"}
    assert data[0]["payload"]["ChangeEventHeader"]["recordIds"] == [LEAD]
    assert data[2]["payload"]["Company"] == "C"


def test_gap_and_overflow_events_can_be_emitted_on_demand(log: EventLog):
    log.apply_faults({"gap": {"record_ids": [LEAD[:15]], "change_type": "GAP_DELETE"}})
    log.apply_faults({"overflow": "Task"})

    first, second = events_of(log)
    assert first["payload"]["ChangeEventHeader"]["changeType"] == "GAP_DELETE"
    assert first["payload"]["ChangeEventHeader"]["recordIds"] == [LEAD]
    overflow = second["payload"]["ChangeEventHeader"]
    assert overflow["changeType"] == "GAP_OVERFLOW"
    assert overflow["entityName"] == "Task"
    assert overflow["recordIds"] == [OVERFLOW_RECORD_ID]


def test_bad_gap_requests_are_refused(log: EventLog):
    with pytest.raises(ValueError, match="change_type"):
        log.apply_faults({"gap": {"record_ids": [LEAD], "change_type": "UPDATE"}})
    with pytest.raises(ValueError, match="valid record_ids"):
        log.apply_faults({"gap": {"record_ids": ["nope"]}})
    assert log.published == 0


def test_channels_map_to_entities():
    assert entities_for(channel_for("Lead")) == ("Lead",)
    assert entities_for("/data/ChangeEvents") == ("Lead", "Task", "EmailMessage")
    assert entities_for("/data/AccountChangeEvent") is None


def test_store_writes_publish_create_delete_and_undelete_with_every_field(
    tmp_path: Path, log: EventLog
):
    # Given the event log subscribed to an org's store
    store = open_store(tmp_path)
    store.subscribe(log.on_change)
    lead_id = store.create(
        "Lead", {"FirstName": "Ann", "LastName": "Lee", "Company": "Acme"}, user_id=REP_USER
    )

    # When the lead is deleted and taken back out of the recycle bin
    store.delete("Lead", lead_id, user_id=REP_USER)
    store.undelete("Lead", lead_id, user_id=REP_USER)

    # Then DELETE is header-only and UNDELETE carries every non-null field, as CREATE does
    created, deleted, undeleted = events_of(log, entities=("Lead",))
    kinds = [d["payload"]["ChangeEventHeader"]["changeType"] for d in (created, deleted, undeleted)]
    assert kinds == ["CREATE", "DELETE", "UNDELETE"]
    assert set(deleted["payload"]) == {"ChangeEventHeader"}
    assert undeleted["payload"]["Name"] == {"FirstName": "Ann", "LastName": "Lee"}
    same = {key for key in created["payload"] if key not in ("ChangeEventHeader",)}
    assert same <= set(undeleted["payload"])
    assert undeleted["payload"]["ChangeEventHeader"]["recordIds"] == [lead_id]
