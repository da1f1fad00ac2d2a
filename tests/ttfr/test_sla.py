"""SLA breach handling: off by default, notify, reassign to the next pool member as a decision."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
from django.test import override_settings

from tests.ttfr.fakes import LEAD_A, LEAD_B, REP, REP_2, T0, FakeClient, lead
from ttfr.models import LeadFact, SlaBreach
from ttfr.services import lead_fact_assignment_record, sla

pytestmark = pytest.mark.django_db
REP_3 = "0055f0000000003AAA"
POOLS = [
    {
        "name": "ENT NA",
        "segment": "ENT",
        "region": "NA",
        "members": [{"user_id": REP_3}, {"user_id": REP}],
    },
    {
        "name": "SMB NA",
        "segment": "SMB",
        "region": "NA",
        "members": [{"user_id": REP}, {"user_id": REP_2}, {"user_id": REP_3}],
    },
]


@dataclass
class Rules:
    output: dict
    confidence: float
    explanation: str


@dataclass
class FakeGateway:
    decisions: list[dict] = field(default_factory=list)
    effects: list[tuple[int, dict]] = field(default_factory=list)

    def decide(self, **kwargs):
        rules = kwargs["rules"](kwargs["context"])
        self.decisions.append({**kwargs, "output": rules.output})
        return type("Result", (), {"decision_id": len(self.decisions), "output": rules.output})()

    def effect(self, *, decision_id, effect):
        self.effects.append((decision_id, effect))


@pytest.fixture
def gateway(monkeypatch) -> FakeGateway:
    fake = FakeGateway()
    monkeypatch.setattr(sla, "_gateway", lambda: (fake.decide, Rules, fake.effect))
    return fake


def assigned(lead_id: str, owner_id: str) -> None:
    lead_fact_assignment_record(
        lead_id=lead_id,
        assigned_at=T0,
        owner_id=owner_id,
        team="NA",
        segment="SMB",
        region="NA",
        lead_source="Web",
        created_at=T0,
    )


@pytest.fixture
def org() -> FakeClient:
    client = FakeClient()
    client.add("Lead", lead(LEAD_A))
    assigned(LEAD_A, REP)
    return client


def check(org, minutes: int):
    return sla.sla_breaches_check(
        client=org, now=T0 + dt.timedelta(minutes=minutes), pools_get=lambda: POOLS
    )


@pytest.mark.parametrize(
    ("owner", "segment", "expected"),
    [
        (REP, "SMB", REP_2),
        (REP_3, "SMB", REP),
        (REP, "ENT", REP_3),
        ("0055f00000000ZZAAA", "SMB", ""),
    ],
)
def test_next_pool_member(owner, segment, expected):
    assert (
        sla.next_pool_member(pools=POOLS, owner_id=owner, segment=segment, region="NA") == expected
    )


def test_breach_flags_are_kept_but_nothing_is_done_by_default(org, gateway):
    assert check(org, 61) == []
    assert LeadFact.objects.get(lead_id=LEAD_A).sla_breached
    assert not SlaBreach.objects.exists()
    assert gateway.decisions == [] and org.updates == []


@override_settings(TTFR_SLA_ACTIONS=["notify"])
def test_notify_records_the_breach_once(org, gateway, caplog):
    assert check(org, 59) == []
    breaches = check(org, 75)
    assert [b.lead_id for b in breaches] == [LEAD_A]
    assert "SLA breach: lead " + LEAD_A in caplog.text
    assert SlaBreach.objects.get().business_minutes == 75.0
    assert check(org, 120) == []  # a lead breaches once
    assert org.updates == []


@override_settings(TTFR_SLA_ACTIONS=["notify", "reassign"])
def test_reassign_goes_to_the_next_pool_member_through_a_decision(org, gateway):
    check(org, 90)
    assert org.updates == [[{"Id": LEAD_A, "OwnerId": REP_2}]]
    assert gateway.decisions[0]["workload"] == "sla"
    assert gateway.decisions[0]["use_llm"] is False
    assert gateway.effects == [(1, {"owner_written": REP_2})]
    breach = SlaBreach.objects.get()
    assert (breach.new_owner_id, breach.decision_id, breach.actions) == (
        REP_2,
        1,
        ["notify", "reassign"],
    )


@override_settings(TTFR_SLA_ACTIONS=["reassign"])
def test_answered_lead_never_breaches(org, gateway):
    LeadFact.objects.filter(lead_id=LEAD_A).update(first_response_at=T0 + dt.timedelta(minutes=5))
    assert check(org, 300) == []
    assert org.updates == []


@override_settings(TTFR_SLA_ACTIONS=["reassign"])
def test_reassignment_is_logged_as_a_flywheel_decision_with_its_effect(org):
    from flywheel.models import Decision

    check(org, 90)
    decision = Decision.objects.get(workload="sla", subject_id=LEAD_A)
    assert decision.output["owner_id"] == REP_2
    assert decision.effect == {"owner_written": REP_2}
    assert SlaBreach.objects.get().decision_id == decision.id


MANAGER = "0055f0000000009AAA"
LEAD_C, LEAD_D = "00Q5f00000000CCCCC", "00Q5f00000000DDDDD"
QUEUE = "00G5f0000000001EAA"


@pytest.fixture
def managed(org) -> FakeClient:
    """REP and REP_2 report to MANAGER; REP_3 has no manager; LEAD_B is owned by REP_2 and a
    third lead by a queue."""
    org.add(
        "User",
        {"Id": MANAGER, "Name": "Morgan Lee", "Email": "morgan@acme.test", "ManagerId": None},
        {"Id": REP, "Name": "Avery Nguyen", "ManagerId": MANAGER},
        {"Id": REP_2, "Name": "Jordan Smith", "ManagerId": MANAGER},
        {"Id": REP_3, "Name": "Taylor Brooks", "ManagerId": None},
    )
    for lead_id, owner_id in ((LEAD_B, REP_2), (LEAD_C, REP_3), (LEAD_D, QUEUE)):
        org.add("Lead", lead(lead_id))
        assigned(lead_id, owner_id)
    return org


@override_settings(TTFR_SLA_ACTIONS=["notify"])
def test_notify_emails_each_manager_once_with_their_reports_breaches(managed, gateway):
    breaches = {b.lead_id: b for b in check(managed, 90)}

    assert len(managed.emails) == 1
    email = managed.emails[0]
    assert email["emailAddresses"] == "morgan@acme.test"
    assert email["emailSubject"] == "SLA breach: 2 leads not answered in time"
    assert LEAD_A in email["emailBody"] and LEAD_B in email["emailBody"]
    assert "Avery Nguyen" in email["emailBody"] and "Jordan Smith" in email["emailBody"]
    assert "relatedRecordId" not in email  # not linked to the leads: no touch on them
    assert (breaches[LEAD_A].notified_to, breaches[LEAD_B].notified_to) == ("morgan@acme.test",) * 2
    assert breaches[LEAD_C].note == "No manager to notify."
    assert breaches[LEAD_D].note == "No manager to notify."
    stored = SlaBreach.objects.get(lead_id=LEAD_A)
    assert stored.notified_to == "morgan@acme.test"
    # every breach is a decision (the owner stays), the email its effect
    assert len(gateway.decisions) == 4 and managed.updates == []
    decided = {d["subject_id"]: d["output"] for d in gateway.decisions}
    assert decided[LEAD_A] == {"owner_id": REP, "notify_manager": True, "reason": "sla_breach"}
    notified = [e for _, e in gateway.effects if "manager_notified" in e]
    assert notified == [{"manager_notified": "morgan@acme.test"}] * 2


@override_settings(TTFR_SLA_ACTIONS=["notify", "reassign"])
def test_the_manager_email_says_where_a_lead_was_reassigned(managed, gateway):
    check(managed, 90)

    assert f"{LEAD_A}, owner Avery Nguyen" in managed.emails[0]["emailBody"]
    assert f"reassigned to {REP_2}" in managed.emails[0]["emailBody"]
    assert SlaBreach.objects.get(lead_id=LEAD_A).new_owner_id == REP_2


@override_settings(TTFR_SLA_ACTIONS=["notify"])
def test_a_failed_manager_email_keeps_the_breach_with_the_reason(managed, gateway):
    managed.email_error = {"statusCode": "INVALID_EMAIL_ADDRESS", "message": "bad address"}

    check(managed, 90)

    breach = SlaBreach.objects.get(lead_id=LEAD_A)
    assert breach.notified_to == ""
    assert (
        breach.note.startswith("Manager email failed:") and "INVALID_EMAIL_ADDRESS" in breach.note
    )
    assert check(managed, 120) == []  # still breached once: no retry storm of emails


@pytest.mark.django_db
def test_sla_check_is_scheduled_every_five_minutes_after_migrate():
    from django.utils.module_loading import import_string
    from django_q.models import Schedule

    schedule = Schedule.objects.get(func="ttfr.tasks.check_sla")

    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == ("I", 5, -1)
    assert callable(import_string(schedule.func))


OUTSIDER = "0055f0000000077AAA"


def reassigned_by_manager(lead_id: str, *, routed_to: str, now_owned_by: str) -> None:
    from routing.choices import AssignmentStatus
    from routing.models import Assignment

    Assignment.objects.create(
        lead_id=lead_id,
        owner_id=routed_to,
        current_owner_id=now_owned_by,
        status=AssignmentStatus.OVERRIDDEN,
        pool="SMB NA",
    )


@override_settings(TTFR_SLA_ACTIONS=["reassign"])
def test_breach_reassigns_from_the_current_owner_not_the_one_routing_chose(org, gateway):
    reassigned_by_manager(LEAD_A, routed_to=REP, now_owned_by=REP_2)

    check(org, 90)

    assert org.updates == [[{"Id": LEAD_A, "OwnerId": REP_3}]]  # after REP_2, not after REP
    assert SlaBreach.objects.get().owner_id == REP_2
    assert gateway.decisions[0]["context"]["owner_id"] == REP_2


@override_settings(TTFR_SLA_ACTIONS=["reassign"])
def test_a_reassignment_becomes_the_leads_current_owner_for_routing(org, gateway):
    from routing.models import Assignment

    reassigned_by_manager(LEAD_A, routed_to=REP, now_owned_by=REP_2)

    check(org, 90)

    row = Assignment.objects.get(lead_id=LEAD_A)
    assert (row.owner_id, row.current_owner_id) == (REP, REP_3)  # capacity counts follow it
    assert row.notes.endswith(f"Reassigned after its SLA breach to {REP_3}.")


@override_settings(TTFR_SLA_ACTIONS=["reassign"])
def test_current_owner_outside_every_pool_gets_the_next_member_after_the_routed_owner(org, gateway):
    reassigned_by_manager(LEAD_A, routed_to=REP, now_owned_by=OUTSIDER)

    check(org, 90)

    assert org.updates == [[{"Id": LEAD_A, "OwnerId": REP_2}]]
    assert SlaBreach.objects.get().owner_id == OUTSIDER


def test_reassign_target_never_hands_the_lead_to_its_current_owner():
    lone = [{"name": "Solo", "segment": "SMB", "region": "NA", "members": [{"user_id": REP}]}]

    assert (
        sla.reassign_target(
            pools=lone, owner_id=REP, assigned_owner_id=REP, segment="SMB", region="NA"
        )
        == ""
    )


@override_settings(TTFR_SLA_ACTIONS=["notify"])
def test_notify_emails_the_current_owners_manager(managed, gateway):
    reassigned_by_manager(LEAD_C, routed_to=REP_3, now_owned_by=REP)  # REP_3 has no manager

    breaches = {b.lead_id: b for b in check(managed, 90)}

    assert breaches[LEAD_C].notified_to == "morgan@acme.test"
    assert LEAD_C in managed.emails[0]["emailBody"]


class CrashAfterWriteClient(FakeClient):
    """The owner write reaches Salesforce, then the worker dies before the check finishes."""

    crash = True

    def send_email_simple(self, inputs):
        if self.crash:
            self.crash = False
            raise RuntimeError("worker killed")
        return super().send_email_simple(inputs)


@override_settings(TTFR_SLA_ACTIONS=["notify", "reassign"])
def test_a_crash_after_the_reassignment_does_not_reassign_the_lead_again(managed, gateway):
    client = CrashAfterWriteClient()
    client.rows = managed.rows

    with pytest.raises(RuntimeError):
        check(client, 90)
    check(client, 95)

    writes = [record for update in client.updates for record in update if record["Id"] == LEAD_A]
    assert writes == [{"Id": LEAD_A, "OwnerId": REP_2}]
    assert SlaBreach.objects.get(lead_id=LEAD_A).new_owner_id == REP_2


def test_current_owners_are_read_in_one_query(managed, django_assert_num_queries):
    reassigned_by_manager(LEAD_A, routed_to=REP, now_owned_by=REP_2)
    reassigned_by_manager(LEAD_B, routed_to=REP_2, now_owned_by=REP_3)
    facts = list(LeadFact.objects.all())

    with django_assert_num_queries(1):
        owners = sla._current_owners(facts)

    assert owners == {LEAD_A: REP_2, LEAD_B: REP_3, LEAD_C: REP_3, LEAD_D: QUEUE}
