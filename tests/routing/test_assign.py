"""Assignment: route once, write owners in batches, respect humans, retry failures, learn."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from flywheel.models import Decision
from routing import tasks
from routing.choices import AssignmentStatus
from routing.models import Assignment, Rep
from routing.selectors import open_lead_counts
from routing.services.assign import OwnerWriteFailed, leads_route
from routing.services.owners import owner_changes_record
from routing.services.policy import policy_draft_create, policy_publish
from salesforce.models import ChangeEvent
from tests.routing.conftest import WORKDAY
from tests.routing.fakes import FakeClient
from ttfr.models import LeadFact

pytestmark = pytest.mark.django_db
INTEGRATION = "0055f000000001cAAA"
TRIAGE = "00G5f0000000007EAA"
REP_NA = "0055f0000000001AAA"
REP_EMEA = "0055f0000000006AAA"
_numbers = itertools.count(1)


def lead_event(change_type: str = "CREATE", *, lead_id: str | None = None, **fields) -> ChangeEvent:
    lead_id = lead_id or f"00Q5f{next(_numbers):010d}AAA"
    fields = {"LastName": "Doe", "Company": "Acme", "OwnerId": INTEGRATION} | fields
    return ChangeEvent.objects.create(
        entity="Lead",
        change_type=change_type,
        record_id=lead_id,
        fields=fields,
        changed_fields=list(fields) if change_type == "UPDATE" else [],
        commit_timestamp=WORKDAY,
        commit_user=fields.pop("commit_user", INTEGRATION),
    )


def route(events, client: FakeClient, now: dt.datetime = WORKDAY):
    return leads_route(events=list(events), client=client, now=now)


def test_new_leads_get_an_owner_in_one_batched_write(loaded_policy):
    events = [
        lead_event(NumberOfEmployees=1250, Country="Deutschland"),
        lead_event(NumberOfEmployees=15, Country="USA"),
        lead_event(NumberOfEmployees=400, Country="Japan"),
    ]
    client = FakeClient()

    report = route(events, client)

    assert len(client.calls) == 1 and client.calls[0][0] == "Lead"
    assert report.written == 3 and report.by_decider == {"rules": 3}
    rows = {a.lead_id: a for a in Assignment.objects.all()}
    first = rows[events[0].record_id]
    assert (first.segment, first.region, first.status) == ("ENT", "EMEA", AssignmentStatus.WRITTEN)
    assert client.written[events[0].record_id] == first.owner_id == first.current_owner_id
    assert first.notes.startswith("ENT because 1,250 employees; EMEA because 'Deutschland' = DE")
    assert first.policy_version == loaded_policy.version
    assert first.event_committed_at == WORKDAY  # kept for the event→owner latency
    decisions = Decision.objects.filter(workload="routing")
    assert sorted(decisions.values_list("subject_id", flat=True)) == sorted(rows)
    decision = decisions.get(pk=first.decision_id)
    assert decision.effect["owner_written"] == first.owner_id
    assert decision.output["segment"] == "ENT" and decision.decider == "rules"
    assert decision.policy_version == loaded_policy.version


def test_a_newly_published_policy_routes_the_next_batch(loaded_policy):
    route([lead_event(NumberOfEmployees=15, Country="USA")], FakeClient())
    draft = policy_draft_create(source=loaded_policy)
    published = policy_publish(policy=draft)

    route([lead_event(NumberOfEmployees=15, Country="USA")], FakeClient())

    versions = list(Assignment.objects.order_by("id").values_list("policy_version", flat=True))
    assert versions == [loaded_policy.version, published.version]


def test_a_one_lead_batch_costs_a_fixed_number_of_queries(
    loaded_policy, django_assert_max_num_queries
):
    route([lead_event(NumberOfEmployees=15, Country="USA")], FakeClient())  # policy compiled

    with django_assert_max_num_queries(24):  # 23, and the ledger lock on PostgreSQL
        route([lead_event(NumberOfEmployees=400, Country="Japan")], FakeClient())


def test_a_pool_cursor_created_meanwhile_by_another_worker_does_not_fail_the_batch(monkeypatch):
    from routing.models import PoolCursor
    from routing.services import assign

    PoolCursor.objects.create(pool_name="SMB NA", position=7)  # the other worker's
    unseen = PoolCursor.objects.none()
    monkeypatch.setattr(assign.PoolCursor.objects, "filter", lambda **_: unseen)

    assign.cursors_save(positions={"SMB NA": 3, "MM NA": 1})

    assert dict(PoolCursor.objects.values_list("pool_name", "position")) == {
        "SMB NA": 7,
        "MM NA": 1,
    }


def test_written_owner_is_recorded_as_the_leads_assignment_for_ttfr(loaded_policy):
    event = lead_event(NumberOfEmployees=1250, Country="Deutschland")

    route([event], FakeClient())

    assignment = Assignment.objects.get()
    fact = LeadFact.objects.get(lead_id=event.record_id)
    assert fact.assigned_at == WORKDAY and fact.owner_id == assignment.owner_id
    assert (fact.segment, fact.region) == ("ENT", "EMEA")
    assert fact.team == Rep.objects.get(user_id=assignment.owner_id).team


def test_redelivered_event_does_not_reassign_lead(loaded_policy):
    event = lead_event(NumberOfEmployees=15, Country="USA")
    client = FakeClient()
    route([event], client)
    decision = Assignment.objects.get().decision_id

    duplicate = lead_event(lead_id=event.record_id, NumberOfEmployees=15, Country="USA")
    report = route([event, duplicate], client)

    assert len(client.calls) == 1
    assert report.already_routed == 1 and report.decided == 0
    assert Assignment.objects.get().decision_id == decision
    assert Decision.objects.count() == 1


def test_lead_created_by_a_rep_keeps_its_owner(loaded_policy):
    event = lead_event(NumberOfEmployees=15, Country="USA", OwnerId=REP_EMEA)
    client = FakeClient()

    report = route([event], client)

    assert client.calls == []
    assert report.respected == 1
    row = Assignment.objects.get()
    assert (row.status, row.current_owner_id, row.decision_id) == ("respected", REP_EMEA, None)


def test_lead_owned_by_a_queue_or_the_integration_user_is_routed(loaded_policy):
    events = [
        lead_event(NumberOfEmployees=15, Country="USA", OwnerId="00G5f0000000001EAA"),
        lead_event(NumberOfEmployees=15, Country="USA", OwnerId=INTEGRATION),
    ]

    report = route(events, FakeClient())

    assert report.written == 2


def test_own_writes_updates_and_other_objects_are_not_routed(loaded_policy):
    own = lead_event(NumberOfEmployees=15, Country="USA")
    own.is_own_write = True
    update = lead_event("UPDATE", NumberOfEmployees=15, Country="USA")
    client = FakeClient()

    report = route([own, update], client)

    assert client.calls == [] and report.decided == 0
    assert not Assignment.objects.exists()


def test_ambiguous_lead_without_llm_goes_to_the_fallback_queue_and_says_why(loaded_policy):
    event = lead_event(NumberOfEmployees="about 500", Country="Brasil")
    client = FakeClient()

    report = route([event], client)

    row = Assignment.objects.get()
    assert client.written == {event.record_id: TRIAGE}
    assert row.segment == "UNKNOWN" and row.region == "LATAM"
    assert "ambiguous (non-numeric employee count 'about 500'), no LLM answer" in row.notes
    assert "fallback queue Lead Triage" in row.notes
    assert report.by_decider == {"fallback": 1}


def test_partial_write_failure_is_kept_and_retried(loaded_policy):
    events = [lead_event(NumberOfEmployees=15, Country="USA") for _ in range(3)]
    locked = events[1].record_id
    client = FakeClient(reject={locked: "unable to obtain exclusive access"})

    with pytest.raises(OwnerWriteFailed):
        route(events, client)

    failed = Assignment.objects.get(lead_id=locked)
    assert failed.status == AssignmentStatus.FAILED and failed.attempts == 1
    assert "ENTITY_IS_LOCKED: unable to obtain exclusive access" in failed.last_error
    assert Assignment.objects.filter(status=AssignmentStatus.WRITTEN).count() == 2

    client.reject.clear()
    report = route(events, client)

    assert [r["Id"] for r in client.calls[-1][1]] == [locked]
    assert report.written == 1
    assert Assignment.objects.get(lead_id=locked).owner_id == failed.owner_id


def test_salesforce_down_marks_the_batch_failed_for_retry(loaded_policy):
    events = [lead_event(NumberOfEmployees=15, Country="USA") for _ in range(2)]

    with pytest.raises(OwnerWriteFailed):
        route(events, FakeClient(down=True))

    assert set(Assignment.objects.values_list("status", flat=True)) == {"failed"}
    assert "ConnectionError" in Assignment.objects.first().last_error


def test_writes_are_batched_by_200(loaded_policy):
    events = [lead_event(NumberOfEmployees=15, Country="Canada") for _ in range(450)]
    client = FakeClient()

    route(events, client)

    assert [len(records) for _, records in client.calls] == [200, 200, 50]


def test_round_robin_continues_across_batches(loaded_policy):
    client = FakeClient()
    for _ in range(6):
        route([lead_event(NumberOfEmployees=15, Country="USA")], client)

    owners = list(client.written.values())

    assert owners[:3] == owners[3:] and len(set(owners)) == 3


def test_route_leads_task_reads_the_inbox(loaded_policy, monkeypatch):
    Rep.objects.update(
        work_start=dt.time(0), work_end=dt.time(23, 59, 59), work_days=list(range(7))
    )
    client = FakeClient()
    monkeypatch.setattr("salesforce.client.get_client", lambda workload: client)
    events = [lead_event(NumberOfEmployees=15, Country="USA") for _ in range(2)]

    tasks.route_leads([e.id for e in events])
    tasks.route_leads([e.id for e in events])

    assert len(client.calls) == 1 and len(client.written) == 2


@pytest.fixture
def labels():
    from flywheel.models import Label

    return Label.objects.order_by("id")


def test_human_reassignment_becomes_an_implicit_label(loaded_policy, labels):
    created = lead_event(NumberOfEmployees=15, Country="USA")
    route([created], FakeClient())
    routed = Assignment.objects.get()
    change = lead_event("UPDATE", lead_id=created.record_id, OwnerId=REP_EMEA, commit_user=REP_NA)

    owner_changes_record(events=[change])
    owner_changes_record(events=[change])

    row = Assignment.objects.get()
    assert row.status == AssignmentStatus.OVERRIDDEN
    assert (row.current_owner_id, row.overridden_by) == (REP_EMEA, REP_NA)
    assert f"from {routed.owner_id} to {REP_EMEA}" in row.notes
    label = labels.get()
    assert label.decision_id == routed.decision_id
    assert (label.verdict, label.source) == ("incorrect", "implicit")
    assert label.corrected_output["owner_id"] == REP_EMEA
    counts = open_lead_counts(since=WORKDAY - dt.timedelta(days=1))
    assert counts.get(REP_EMEA) == 1 and routed.owner_id not in counts


def test_owner_change_by_the_integration_user_is_not_a_label(loaded_policy, labels):
    created = lead_event(NumberOfEmployees=15, Country="USA")
    route([created], FakeClient())

    owner_changes_record(events=[lead_event("UPDATE", lead_id=created.record_id, OwnerId=REP_EMEA)])

    assert not labels.exists() and Assignment.objects.get().status == AssignmentStatus.WRITTEN


def test_human_reassignment_before_the_write_wins(loaded_policy, labels):
    created = lead_event(NumberOfEmployees=15, Country="USA")
    with pytest.raises(OwnerWriteFailed):
        route([created], FakeClient(down=True))
    owner_changes_record(
        events=[
            lead_event("UPDATE", lead_id=created.record_id, OwnerId=REP_EMEA, commit_user=REP_NA)
        ]
    )
    client = FakeClient()

    route([created], client)

    assert client.calls == []
    assert Assignment.objects.get().current_owner_id == REP_EMEA


def test_batch_interrupted_part_way_keeps_the_leads_that_were_written(loaded_policy):
    from salesforce.client import BatchInterrupted, RecordResult

    events = [lead_event(NumberOfEmployees=15, Country="USA") for _ in range(3)]

    class Interrupting(FakeClient):
        def update_records(self, sobject, records):
            self.calls.append((sobject, records))
            done = [RecordResult(records[0]["Id"], True, [])]
            raise BatchInterrupted("connection lost", completed=done)

    with pytest.raises(OwnerWriteFailed):
        route(events, Interrupting())

    statuses = dict(Assignment.objects.values_list("lead_id", "status"))
    assert statuses[events[0].record_id] == AssignmentStatus.WRITTEN
    assert [statuses[e.record_id] for e in events[1:]] == [AssignmentStatus.FAILED] * 2


def test_after_the_last_attempt_the_lead_is_a_dead_letter_not_a_retry(loaded_policy, settings):
    from salesforce.models import DeadLetter

    settings.ROUTING_MAX_WRITE_ATTEMPTS = 2
    event = lead_event(NumberOfEmployees=15, Country="USA")
    client = FakeClient(reject={event.record_id: "record locked"})
    with pytest.raises(OwnerWriteFailed):
        route([event], client)

    report = route([event], client)
    route([event], client)

    assert report.failed == [event.record_id]
    assert len(client.calls) == 2
    letter = DeadLetter.objects.get(source="routing")
    assert event.record_id in letter.reason and "after 2 attempts" in letter.reason


def test_reviewer_correction_pushes_the_owner_to_salesforce(loaded_policy):
    from routing.services.owners import owner_correction_push

    created = lead_event(NumberOfEmployees=15, Country="USA")
    route([created], FakeClient())
    routed = Assignment.objects.get()
    client = FakeClient()

    pushed = owner_correction_push(
        decision_id=routed.decision_id, corrected_output={"owner_id": REP_EMEA}, client=client
    )
    again = owner_correction_push(
        decision_id=routed.decision_id, corrected_output={"owner_id": REP_EMEA}, client=client
    )

    assert (pushed, again) == (True, False)
    assert client.written == {created.record_id: REP_EMEA}
    assert Assignment.objects.get().current_owner_id == REP_EMEA


def test_a_lead_whose_routing_task_was_lost_is_routed_by_the_sweep(loaded_policy, monkeypatch):
    from salesforce.dispatch import ROUTE_LEADS
    from salesforce.inbox import events_dispatch
    from salesforce.sweep import lost_work_rerun

    # given two lead creations dispatched 5 minutes ago: one routed, one whose task was lost
    routed, lost = lead_event(NumberOfEmployees=15, Country="USA"), lead_event(Country="Japan")
    ids = [routed.id, lost.id]
    events_dispatch(event_ids=ids, integration_user_id=INTEGRATION, enqueue=lambda plan: None)
    client = FakeClient()
    monkeypatch.setattr("salesforce.client.get_client", lambda workload: client)
    monkeypatch.setattr("django.utils.timezone.now", lambda: WORKDAY)
    tasks.route_leads([routed.id])
    client.calls.clear()

    def sweep() -> int:
        ChangeEvent.objects.update(dispatched_at=WORKDAY - dt.timedelta(minutes=5))
        result = lost_work_rerun(now=WORKDAY, grace=dt.timedelta(minutes=3), enqueue=run_routing)
        return result.rerun.get(ROUTE_LEADS, 0)

    def run_routing(plan: dict[str, list[int]]) -> None:
        tasks.route_leads(plan.get(ROUTE_LEADS, []))

    # when the scheduled sweep runs (twice)
    first, second = sweep(), sweep()
    # then only the lost one is routed, once
    assert (first, second) == (1, 0)
    assert list(client.written) == [lost.record_id]
    assert Assignment.objects.get(lead_id=lost.record_id).status == AssignmentStatus.WRITTEN


def test_the_sweep_is_scheduled_every_minute_after_migrate():
    from django_q.models import Schedule

    schedule = Schedule.objects.get(func="salesforce.tasks.rerun_lost_work")

    assert (schedule.schedule_type, schedule.minutes) == ("I", 1)


def _killed_after_the_owner_write(event: ChangeEvent, monkeypatch) -> FakeClient:
    """The owner reaches Salesforce, then the worker dies before the ledger says so."""
    from routing.services import writes

    client = FakeClient()
    monkeypatch.setattr(writes, "_save", lambda rows, now: (_ for _ in ()).throw(SystemExit))
    with pytest.raises(SystemExit):
        route([event], client)
    monkeypatch.undo()
    assert Assignment.objects.get().status == AssignmentStatus.PENDING
    return client


def test_a_retry_after_a_write_that_reached_salesforce_writes_nothing_again(
    loaded_policy, monkeypatch
):
    created = lead_event(NumberOfEmployees=15, Country="USA")
    client = _killed_after_the_owner_write(created, monkeypatch)

    report = route([created], client)  # the re-delivered task

    assert len(client.calls) == 1  # the first write only
    row = Assignment.objects.get()
    assert row.status == AssignmentStatus.WRITTEN and report.already_routed == 1
    decision = Decision.objects.get(pk=row.decision_id)
    assert decision.effect["owner_written"] == row.owner_id
    assert LeadFact.objects.get(lead_id=created.record_id).owner_id == row.owner_id


def test_the_routing_task_reads_the_owners_of_a_retry_through_its_client(
    loaded_policy, monkeypatch
):
    created = lead_event(NumberOfEmployees=15, Country="USA")
    client = _killed_after_the_owner_write(created, monkeypatch)
    monkeypatch.setattr("salesforce.client.get_client", lambda workload: client)

    tasks.route_leads([created.id])

    assert len(client.calls) == 1 and len(client.queries) == 1
    assert Assignment.objects.get().status == AssignmentStatus.WRITTEN


def test_a_retry_keeps_a_rep_who_took_the_lead_meanwhile(loaded_policy, monkeypatch):
    created = lead_event(NumberOfEmployees=15, Country="USA")
    client = _killed_after_the_owner_write(created, monkeypatch)
    routed_to = Assignment.objects.get().owner_id
    other = Rep.objects.exclude(user_id=routed_to).values_list("user_id", flat=True).first()
    client.owners[created.record_id] = other  # a manager moved it in Salesforce

    route([created], client)

    assert len(client.calls) == 1
    row = Assignment.objects.get()
    assert (row.status, row.current_owner_id) == (AssignmentStatus.OVERRIDDEN, other)


def test_a_retry_writes_when_salesforce_does_not_have_the_owner(loaded_policy):
    created = lead_event(NumberOfEmployees=15, Country="USA")
    with pytest.raises(OwnerWriteFailed):
        route([created], FakeClient(down=True))
    client = FakeClient()

    route([created], client)

    assert [r["Id"] for r in client.calls[0][1]] == [created.record_id]
    assert client.queries and Assignment.objects.get().status == AssignmentStatus.WRITTEN
