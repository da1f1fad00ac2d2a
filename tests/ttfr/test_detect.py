"""Incremental detection: change events in, batched queries, one write for changed leads."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings

from tests.ttfr.events import event
from tests.ttfr.fakes import (
    INTEGRATION,
    LEAD_A,
    LEAD_B,
    REP_2,
    T0,
    FakeClient,
    email,
    lead,
    relation,
    sf,
    task,
)
from ttfr import rules
from ttfr.models import LeadFact
from ttfr.services.detect import activity_process

pytestmark = pytest.mark.django_db
MIN = dt.timedelta(minutes=1)
NOW = T0 + dt.timedelta(days=1)


def run(client: FakeClient, *events):
    return activity_process(client=client, events=list(events), now=NOW)


def created(row: dict) -> object:
    return event("Task", "CREATE", row["Id"], {k: v for k, v in row.items() if k != "Id"})


@pytest.fixture
def org() -> FakeClient:
    client = FakeClient()
    client.add("Lead", lead(LEAD_A), lead(LEAD_B))
    return client


def test_completed_call_is_written_to_the_lead_in_one_update(org):
    # given a rep logs a call 25 minutes after the lead came in
    call = task(at=T0 + 25 * MIN, owner=REP_2)
    org.add("Task", call)
    # when its event is processed
    result = run(org, created(call))
    # then one Collections call writes the three fields
    assert org.updates == [
        [
            {
                "Id": LEAD_A,
                rules.FIELD_AT: sf(T0 + 25 * MIN),
                rules.FIELD_USER: REP_2,
                rules.FIELD_MINUTES: 25.0,
            }
        ]
    ]
    assert result.updated == 1
    fact = LeadFact.objects.get(lead_id=LEAD_A)
    assert (fact.responder_id, fact.ttfr_minutes, fact.first_response_touch_id) == (
        REP_2,
        25.0,
        call["Id"],
    )


def test_redelivered_events_write_nothing(org):
    call = task(at=T0 + 25 * MIN)
    org.add("Task", call)
    first = created(call)
    run(org, first)
    calls_before = org.calls
    result = run(org, first, created(call))
    assert len(org.updates) == 1
    assert (result.updated, result.unchanged) == (0, 1)
    assert org.calls - calls_before == 1  # lead, tasks, email relations in one call: no update


def test_earliest_touch_wins_when_events_arrive_out_of_order(org):
    late, early = task(at=T0 + 40 * MIN), task(at=T0 + 10 * MIN, owner=REP_2)
    # the late touch is seen first
    org.add("Task", late)
    run(org, created(late))
    assert org.get("Lead", LEAD_A)[rules.FIELD_MINUTES] == 40.0
    # an earlier touch that arrives later replaces it
    org.add("Task", early)
    run(org, created(early))
    assert org.get("Lead", LEAD_A)[rules.FIELD_MINUTES] == 10.0
    assert org.get("Lead", LEAD_A)[rules.FIELD_USER] == REP_2
    # and a replay of the late event changes nothing
    run(org, created(late))
    assert len(org.updates) == 2


def test_deleting_the_counted_touch_recomputes(org):
    early, late = task(at=T0 + 5 * MIN), task(at=T0 + 45 * MIN)
    org.add("Task", early, late)
    run(org, created(early), created(late))
    # when the counted call is deleted (a DELETE event carries no fields)
    org.delete(early["Id"])
    run(org, event("Task", "DELETE", early["Id"]))
    # then the next touch counts
    assert org.get("Lead", LEAD_A)[rules.FIELD_MINUTES] == 45.0
    org.delete(late["Id"])
    run(org, event("Task", "DELETE", late["Id"]))
    assert org.get("Lead", LEAD_A)[rules.FIELD_AT] is None
    assert LeadFact.objects.get(lead_id=LEAD_A).first_response_at is None


def test_sent_email_is_resolved_to_its_lead_through_the_relation(org):
    message = email(at=T0 + 8 * MIN)
    org.add("EmailMessage", message)
    org.add("EmailMessageRelation", relation(message, LEAD_B))
    run(org, event("EmailMessage", "CREATE", message["Id"], {"Incoming": False}))
    assert org.get("Lead", LEAD_B)[rules.FIELD_MINUTES] == 8.0
    assert org.get("Lead", LEAD_A)[rules.FIELD_AT] is None


def test_incoming_email_is_not_a_response(org):
    message = email(at=T0 + 8 * MIN, incoming=True, status="0")
    org.add("EmailMessage", message)
    org.add("EmailMessageRelation", relation(message))
    run(org, event("EmailMessage", "CREATE", message["Id"], {"Incoming": True}))
    assert org.updates == []


def test_todo_completed_later_counts_when_completed(org):
    todo = task(at=T0 + 2 * MIN, status="Not Started")
    org.add("Task", todo)
    run(org, created(todo))
    assert org.updates == []
    # the rep completes it an hour later: the UPDATE event carries no WhoId
    org.get("Task", todo["Id"]).update(
        Status="Completed", IsClosed=True, CompletedDateTime=sf(T0 + 62 * MIN)
    )
    calls = org.calls
    run(org, event("Task", "UPDATE", todo["Id"], {"Status": "Completed"}, changed=["Status"]))
    assert org.get("Lead", LEAD_A)[rules.FIELD_MINUTES] == 62.0
    assert org.calls - calls == 2  # read + update; WhoId came from the inbox: no look-up query


def test_task_update_unknown_to_the_inbox_is_looked_up_once(org):
    call = task(at=T0 + 3 * MIN)
    org.add("Task", call)
    run(org, event("Task", "UPDATE", call["Id"], {"Subject": "x"}))
    assert org.get("Lead", LEAD_A)[rules.FIELD_MINUTES] == 3.0
    assert any("FROM Task WHERE Id IN" in q for q in org.queries)


def test_automated_touch_is_kept_apart_and_not_written(org):
    bot = task(at=T0 + MIN, owner=INTEGRATION)
    org.add("Task", bot)
    run(org, created(bot))
    assert org.updates == []
    fact = LeadFact.objects.get(lead_id=LEAD_A)
    assert (fact.automated_touch_id, fact.first_response_at) == (bot["Id"], None)


BOT = "0055f0000000BOTAAA"


@override_settings(TTFR_AUTOMATED_SENDERS=[BOT, "NoReply@Acme.test"])
def test_configured_automated_senders_are_first_automated_touches_not_responses(org):
    # given a sequence tool's user logs a task on A and a rep's mailbox sends from the no-reply
    # address to B, both a minute after creation, before the reps answer
    bot_task = task(at=T0 + MIN, owner=BOT[:15])  # a 15-character id matches the 18-character one
    blast = email(at=T0 + MIN, sender=REP_2, address="noreply@acme.test")
    call = task(at=T0 + 20 * MIN, owner=REP_2)
    org.add("Task", bot_task, call)
    org.add("EmailMessage", blast)
    org.add("EmailMessageRelation", relation(blast, LEAD_B))
    # when their events are processed through detection
    run(org, created(bot_task), event("EmailMessage", "CREATE", blast["Id"], {"Incoming": False}))
    run(org, created(call))
    # then they are kept as the first automated touches and only the rep's call is a response
    a, b = LeadFact.objects.get(lead_id=LEAD_A), LeadFact.objects.get(lead_id=LEAD_B)
    assert (a.automated_touch_id, a.automated_user_id, a.first_automated_at) == (
        bot_task["Id"],
        BOT[:15],
        T0 + MIN,
    )
    assert (a.first_response_touch_id, a.ttfr_minutes) == (call["Id"], 20.0)
    assert (b.automated_touch_id, b.first_response_at) == (blast["Id"], None)
    assert org.get("Lead", LEAD_A)[rules.FIELD_USER] == REP_2
    assert org.get("Lead", LEAD_B)[rules.FIELD_AT] is None


def test_a_task_the_integration_user_created_for_a_rep_is_the_reps_touch(org):
    # the rule: a Task is judged by its OwnerId (who made the touch), not by who created the row
    call = task(at=T0 + 4 * MIN, owner=REP_2, CreatedById=INTEGRATION)
    org.add("Task", call)
    run(org, created(call))
    assert org.get("Lead", LEAD_A)[rules.FIELD_USER] == REP_2
    assert LeadFact.objects.get(lead_id=LEAD_A).automated_touch_id == ""


def test_converted_lead_is_recorded_but_not_written(org):
    org.get("Lead", LEAD_A)["IsConverted"] = True
    call = task(at=T0 + 3 * MIN)
    org.add("Task", call)
    run(org, created(call))
    assert org.updates == []
    assert LeadFact.objects.get(lead_id=LEAD_A).is_converted


def test_lead_events_cost_no_salesforce_calls(org):
    run(
        org,
        event("Lead", "CREATE", LEAD_A, {"CreatedDate": sf(T0), "LeadSource": "Partner"}),
        event("Lead", "UPDATE", LEAD_B, {rules.FIELD_MINUTES: 3.0}, own=True),
    )
    assert org.calls == 0
    fact = LeadFact.objects.get(lead_id=LEAD_A)
    assert (fact.created_at, fact.lead_source) == (T0, "Partner")
    assert not LeadFact.objects.filter(lead_id=LEAD_B).exists()


def test_lead_delete_then_undelete(org):
    call = task(at=T0 + 3 * MIN)
    org.add("Task", call)
    run(org, created(call))
    run(org, event("Lead", "DELETE", LEAD_A))
    assert LeadFact.objects.get(lead_id=LEAD_A).is_deleted
    run(org, event("Lead", "UNDELETE", LEAD_A, {"CreatedDate": sf(T0)}))
    assert not LeadFact.objects.get(lead_id=LEAD_A).is_deleted


def test_query_count_does_not_grow_with_the_batch(org):
    ids = [f"00Q5f{n:010d}AAA" for n in range(150)]
    org.add("Lead", *(lead(i) for i in ids))
    calls = [task(i, at=T0 + 7 * MIN) for i in ids]
    org.add("Task", *calls)
    result = run(org, *(created(c) for c in calls))
    assert result.updated == 150
    assert org.calls == 2  # leads, tasks, relations read together, one Collections update


def test_process_activity_task_reads_its_events_from_the_inbox(org, monkeypatch):
    from ttfr import tasks

    monkeypatch.setattr(tasks, "get_client", lambda workload: org)
    call = task(at=T0 + 12 * MIN)
    org.add("Task", call)
    tasks.process_activity([created(call).id])
    assert org.get("Lead", LEAD_A)[rules.FIELD_MINUTES] == 12.0
