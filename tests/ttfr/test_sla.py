"""SLA breach handling: off by default, notify, reassign to the next pool member as a decision."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
from django.test import override_settings

from tests.ttfr.fakes import LEAD_A, REP, REP_2, T0, FakeClient, lead
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


@pytest.fixture
def org() -> FakeClient:
    client = FakeClient()
    client.add("Lead", lead(LEAD_A))
    lead_fact_assignment_record(
        lead_id=LEAD_A,
        assigned_at=T0,
        owner_id=REP,
        team="NA",
        segment="SMB",
        region="NA",
        lead_source="Web",
        created_at=T0,
    )
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


@pytest.mark.django_db
def test_sla_check_is_scheduled_every_five_minutes_after_migrate():
    from django.utils.module_loading import import_string
    from django_q.models import Schedule

    schedule = Schedule.objects.get(func="ttfr.tasks.check_sla")

    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == ("I", 5, -1)
    assert callable(import_string(schedule.func))
