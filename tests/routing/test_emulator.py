"""End to end against the emulated org: leads created there get their owner written once, by the
integration user, in one batched call; a re-delivered event writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from routing import tasks
from routing.models import Assignment, Rep
from salesforce.models import ChangeEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
INTEGRATION = "0055f000000001cAAA"
LEAD_TRIAGE = "00G5f0000000007EAA"


@pytest.fixture
def org(sf_settings):
    return sf_settings


def _create_leads(org, leads: list[dict]) -> list[ChangeEvent]:
    events = []
    for fields in leads:
        lead_id = org.control("POST", "/__emulator__/records/Lead", json=fields).json()["id"]
        record = org.control("GET", f"/__emulator__/records/Lead/{lead_id}").json()
        events.append(
            ChangeEvent.objects.create(
                entity="Lead",
                change_type="CREATE",
                record_id=lead_id,
                fields={k: v for k, v in record.items() if k != "attributes" and v is not None},
                commit_timestamp=timezone.now(),
                commit_user=str(record.get("CreatedById") or ""),
            )
        )
    return events


def _owner_writes(org, lead_id: str) -> list[dict]:
    history = org.control("GET", f"/__emulator__/history/Lead/{lead_id}").json()
    return [h for h in history if h["field"] == "OwnerId" and h["old"] is not None]


def test_leads_created_in_the_org_are_owned_by_the_right_pool_member(org, loaded_policy):
    Rep.objects.update(
        work_start=dt.time(0), work_end=dt.time(23, 59, 59), work_days=list(range(7))
    )
    base = {"LastName": "Doe", "OwnerId": LEAD_TRIAGE}
    events = _create_leads(
        org,
        [
            base | {"Company": "Kraftwerk AG", "NumberOfEmployees": 1250, "Country": "Deutschland"},
            base | {"Company": "Tiny LLC", "NumberOfEmployees": 12, "Country": "USA"},
            base | {"Company": "Nippon KK", "NumberOfEmployees": 450, "Country": "Japan"},
        ],
    )
    ids = [e.id for e in events]
    before = org.control("GET", "/__emulator__/stats").json()["by_endpoint"]

    tasks.route_leads(ids)
    tasks.route_leads(ids)

    after = org.control("GET", "/__emulator__/stats").json()["by_endpoint"]
    calls = {name: n - before.get(name, 0) for name, n in after.items() if n != before.get(name)}
    assert calls == {"POST oauth": 1, "PATCH composite": 1}, calls

    rows = {a.lead_id: a for a in Assignment.objects.all()}
    for event in events:
        writes = _owner_writes(org, event.record_id)
        assert len(writes) == 1, writes
        assert writes[0]["user_id"] == INTEGRATION
        assert writes[0]["new"] == rows[event.record_id].owner_id
        assert rows[event.record_id].status == "written"
    assert rows[events[0].record_id].pool == "ENT EMEA"
    assert rows[events[1].record_id].pool == "SMB NA"
    assert rows[events[2].record_id].pool == "MM APAC"


@pytest.fixture
def llm(org, settings):
    settings.ANTHROPIC_API_KEY = "test-key-not-secret"
    settings.ANTHROPIC_BASE_URL = org.url
    settings.LLM_MAX_RETRIES = 0
    settings.LLM_TIMEOUT_SECONDS = 3
    Rep.objects.update(
        work_start=dt.time(0), work_end=dt.time(23, 59, 59), work_days=list(range(7))
    )

    def configure(**faults):
        body = {"latency_ms": 5, "rate_429": 0, "rate_529": 0, "malformed_rate": 0} | faults
        assert org.control("POST", "/__emulator__/anthropic", json=body).status_code == 200

    return configure


def _ambiguous_lead(org) -> ChangeEvent:
    fields = {"LastName": "Doe", "OwnerId": LEAD_TRIAGE, "Company": "Vague Ltda"}
    return _create_leads(org, [fields | {"Country": "Brasil", "Description": "about 500 staff"}])[0]


def test_ambiguous_lead_is_validated_by_the_llm(org, loaded_policy, llm):
    from flywheel.models import Decision

    llm()
    event = _ambiguous_lead(org)

    tasks.route_leads([event.id])

    row = Assignment.objects.get()
    decision = Decision.objects.get(pk=row.decision_id)
    assert decision.decider == "llm" and decision.policy_version == loaded_policy.version
    assert decision.output["segment"] in ("SMB", "MM", "ENT", "UNKNOWN")
    assert "llm says" in row.notes
    assert row.segment == decision.output["segment"]
    assert decision.effect["owner_written"] == row.owner_id
    assert _owner_writes(org, event.record_id)[0]["new"] == row.owner_id


@pytest.mark.parametrize("fault", [{"rate_529": 1.0}, {"malformed_rate": 1.0}, {"rate_429": 1.0}])
def test_llm_failures_fall_back_to_the_triage_queue_and_say_so(org, loaded_policy, llm, fault):
    from flywheel.models import Decision

    llm(**fault)
    event = _ambiguous_lead(org)

    tasks.route_leads([event.id])

    row = Assignment.objects.get()
    decision = Decision.objects.get(pk=row.decision_id)
    assert decision.decider == "fallback" and decision.reason.startswith("llm")
    assert row.owner_id == LEAD_TRIAGE
    assert "ambiguous (employee count missing), no LLM answer" in row.notes
    assert _owner_writes(org, event.record_id) == []


def test_a_reps_reassignment_in_the_org_becomes_an_implicit_label(org, loaded_policy):
    from flywheel.models import Label

    Rep.objects.update(
        work_start=dt.time(0), work_end=dt.time(23, 59, 59), work_days=list(range(7))
    )
    event = _create_leads(
        org,
        [
            {
                "LastName": "Doe",
                "OwnerId": LEAD_TRIAGE,
                "Company": "Acme",
                "NumberOfEmployees": 12,
                "Country": "USA",
            }
        ],
    )[0]
    tasks.route_leads([event.id])
    routed = Assignment.objects.get()
    colleague = (
        "0055f0000000002AAA" if routed.owner_id != "0055f0000000002AAA" else "0055f0000000004AAA"
    )
    org.control(
        "PATCH",
        f"/__emulator__/records/Lead/{event.record_id}",
        json={"OwnerId": colleague, "_user_id": routed.owner_id},
    )
    change = ChangeEvent.objects.create(
        entity="Lead",
        change_type="UPDATE",
        record_id=event.record_id,
        fields={"OwnerId": colleague},
        changed_fields=["OwnerId"],
        commit_timestamp=timezone.now(),
        commit_user=routed.owner_id,
    )

    tasks.record_owner_changes([change.id])

    label = Label.objects.get()
    assert (label.decision_id, label.verdict, label.source) == (
        routed.decision_id,
        "incorrect",
        "implicit",
    )
    assert label.corrected_output["owner_id"] == colleague
    assert Assignment.objects.get().current_owner_id == colleague
    assert [w["user_id"] for w in _owner_writes(org, event.record_id)] == [
        INTEGRATION,
        routed.owner_id,
    ]
