"""The store: validation, history, change feed, transactions, index and persistence."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from sf_emulator.changes import RecordChange
from sf_emulator.ids import IdFactory, to_18
from sf_emulator.store import SalesforceError, Store

USER = "0055f0000000001AAA"
OTHER_USER = "0055f0000000002AAA"
QUEUE = "00G5f0000000001EAA"
NOW = dt.datetime(2026, 3, 2, 15, 30, 0, 123456, tzinfo=dt.UTC)


def open_store(path: Path) -> Store:
    store = Store(path=path / "org.sqlite3", ids=IdFactory(), clock=lambda: NOW)
    for user_id in (USER, OTHER_USER):
        if store.get("User", user_id) is None:
            store.create(
                "User",
                {
                    "Id": user_id,
                    "Username": f"{user_id}@x.test",
                    "LastName": "Rep",
                    "Email": "r@x.test",
                },
                user_id=USER,
                system=True,
            )
    if store.get("Group", QUEUE) is None:
        store.create(
            "Group", {"Id": QUEUE, "Name": "Queue", "Type": "Queue"}, user_id=USER, system=True
        )
    return store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_store(tmp_path)


def error_of(call: object, *args: object, **kwargs: object) -> SalesforceError:
    with pytest.raises(SalesforceError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value


def test_created_lead_gets_system_fields_defaults_and_derived_name(store: Store) -> None:
    lead_id = store.create(
        "Lead", {"FirstName": "Ada", "LastName": "Byron", "Company": "Engines"}, user_id=USER
    )

    lead = store.get("Lead", lead_id)
    assert lead_id.startswith("00Q") and len(lead_id) == 18
    assert lead["Name"] == "Ada Byron"
    assert lead["OwnerId"] == USER and lead["Status"] == "Open - Not Contacted"
    assert lead["CreatedDate"] == NOW.replace(microsecond=123000)
    assert lead["CreatedById"] == USER and lead["IsDeleted"] is False
    assert store.get(lead_id) == lead


def test_lead_needs_last_name_and_company(store: Store) -> None:
    error = error_of(store.create, "Lead", {"FirstName": "Ada"}, user_id=USER)

    assert error.error_code == "REQUIRED_FIELD_MISSING"
    assert error.fields == ["LastName", "Company"]
    assert error.message == "Required fields are missing: [LastName, Company]"


def test_api_cannot_write_system_fields_but_system_writes_can(store: Store) -> None:
    past = "2025-01-01T09:00:00.000+0000"
    fields = {"LastName": "L", "Company": "C", "CreatedDate": past}

    error = error_of(store.create, "Lead", fields, user_id=USER)
    lead_id = store.create("Lead", fields, user_id=USER, system=True)

    assert error.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE" and error.fields == ["CreatedDate"]
    lead = store.get("Lead", lead_id)
    assert lead["CreatedDate"] == dt.datetime(2025, 1, 1, 9, tzinfo=dt.UTC)
    assert lead["LastModifiedDate"] == lead["CreatedDate"]


def test_unknown_field_and_bad_values_are_rejected_without_writing(store: Store) -> None:
    unknown = error_of(
        store.create, "Lead", {"LastName": "L", "Company": "C", "Nope__c": 1}, user_id=USER
    )
    bad_int = error_of(
        store.create,
        "Lead",
        {"LastName": "L", "Company": "C", "NumberOfEmployees": "many"},
        user_id=USER,
    )

    assert unknown.error_code == "INVALID_FIELD"
    assert unknown.message == "No such column 'Nope__c' on sobject of type Lead"
    assert bad_int.error_code == "JSON_PARSER_ERROR"
    assert list(store.rows("Lead")) == []


def test_owner_must_be_an_existing_user_or_queue(store: Store) -> None:
    base = {"LastName": "L", "Company": "C"}

    missing = error_of(
        store.create, "Lead", {**base, "OwnerId": to_18("0055f00000000ZZ")}, user_id=USER
    )
    malformed = error_of(store.create, "Lead", {**base, "OwnerId": "not-an-id"}, user_id=USER)
    queued = store.create("Lead", {**base, "OwnerId": QUEUE[:15]}, user_id=USER)

    assert missing.error_code == "INVALID_CROSS_REFERENCE_KEY" and missing.fields == ["OwnerId"]
    assert malformed.error_code == "MALFORMED_ID"
    assert store.get("Lead", queued)["OwnerId"] == QUEUE


def test_update_records_history_and_publishes_changed_fields(store: Store) -> None:
    changes: list[RecordChange] = []
    store.subscribe(changes.append)
    lead_id = store.create(
        "Lead", {"LastName": "L", "Company": "C", "OwnerId": QUEUE}, user_id=USER
    )

    store.update(
        "Lead", lead_id, {"OwnerId": OTHER_USER, "Company": "C"}, user_id=USER, client="app"
    )

    created, updated = changes
    assert created.change_type == "CREATE" and created.fields["Company"] == "C"
    assert updated.change_type == "UPDATE"
    assert updated.changed_fields == ("OwnerId", "LastModifiedDate")
    assert updated.previous["OwnerId"] == QUEUE and updated.client == "app"
    history = store.history("Lead", lead_id)
    assert [h["field"] for h in history] == ["created", "OwnerId"]
    assert history[1] == {
        "field": "OwnerId",
        "old": QUEUE,
        "new": OTHER_USER,
        "user_id": USER,
        "client": "app",
        "timestamp": "2026-03-02T15:30:00.123+0000",
    }


def test_transaction_shares_a_key_and_rolls_back_as_a_whole(store: Store) -> None:
    changes: list[RecordChange] = []
    store.subscribe(changes.append)
    with store.transaction(user_id=USER, client="batch") as tx:
        first = store.create("Lead", {"LastName": "A", "Company": "C"}, user_id=USER, tx=tx)
        store.create("Task", {"WhoId": first, "Subject": "Call"}, user_id=USER, tx=tx)

    with pytest.raises(SalesforceError), store.transaction(user_id=USER) as tx:
        store.create("Lead", {"LastName": "B", "Company": "C"}, user_id=USER, tx=tx)
        store.create("Lead", {"LastName": "B"}, user_id=USER, tx=tx)

    assert [c.sequence_number for c in changes] == [1, 2]
    assert len({c.transaction_key for c in changes}) == 1
    assert [r["LastName"] for r in store.rows("Lead")] == ["A"]


def test_rows_where_uses_the_reference_index_and_follows_updates(store: Store) -> None:
    lead_a = store.create("Lead", {"LastName": "A", "Company": "C"}, user_id=USER)
    lead_b = store.create("Lead", {"LastName": "B", "Company": "C"}, user_id=USER)
    task = store.create("Task", {"WhoId": lead_a, "Subject": "Call"}, user_id=USER)

    store.update("Task", task, {"WhoId": lead_b}, user_id=USER)

    assert store.rows_where("Task", "WhoId", [lead_a]) == []
    assert [t["Id"] for t in store.rows_where("Task", "WhoId", [lead_b[:15]])] == [task]
    assert [r["Id"] for r in store.rows_by("Lead", "Id", [lead_a])] == [lead_a]


def test_completing_a_task_stamps_completion(store: Store) -> None:
    task = store.create("Task", {"Subject": "Call", "TaskSubtype": "Call"}, user_id=USER)

    store.update("Task", task, {"Status": "Completed"}, user_id=USER)

    record = store.get("Task", task)
    assert record["IsClosed"] is True and record["CompletedDateTime"] == record["LastModifiedDate"]


def test_deleted_records_stay_for_query_all_and_can_be_undeleted(store: Store) -> None:
    lead_id = store.create("Lead", {"LastName": "L", "Company": "C"}, user_id=USER)

    store.delete("Lead", lead_id, user_id=USER)
    deleted_view = (list(store.rows("Lead")), list(store.rows("Lead", include_deleted=True)))
    again = error_of(store.update, "Lead", lead_id, {"Company": "D"}, user_id=USER)
    store.undelete("Lead", lead_id, user_id=USER)

    assert deleted_view[0] == [] and deleted_view[1][0]["IsDeleted"] is True
    assert again.error_code == "ENTITY_IS_DELETED"
    assert store.get("Lead", lead_id)["IsDeleted"] is False


def test_records_and_history_survive_reopening(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    lead_id = store.create(
        "Lead",
        {
            "LastName": "L",
            "Company": "C",
            "NumberOfEmployees": 12,
            "First_Response_At__c": "2026-01-02T03:04:05Z",
        },
        user_id=USER,
    )
    store.update("Lead", lead_id, {"OwnerId": QUEUE}, user_id=OTHER_USER)
    store.close()

    reopened = open_store(tmp_path)
    new_id = reopened.create("Lead", {"LastName": "M", "Company": "C"}, user_id=USER)

    lead = reopened.get("Lead", lead_id)
    assert lead["NumberOfEmployees"] == 12 and lead["OwnerId"] == QUEUE
    assert lead["First_Response_At__c"] == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert [h["field"] for h in reopened.history("Lead", lead_id)] == ["created", "OwnerId"]
    assert new_id != lead_id
    assert [t["Id"] for t in reopened.rows_where("Lead", "OwnerId", [QUEUE])] == [lead_id]
