"""End to end against the emulated org: leads created there get their owner written once, by the
integration user, in one batched call; a re-delivered event writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from routing import tasks
from routing.models import Assignment, Rep
from salesforce import auth
from salesforce.models import ChangeEvent
from salesforce.usage import breaker, recorder

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
INTEGRATION = "0055f000000001cAAA"
LEAD_TRIAGE = "00G5f0000000007EAA"


@pytest.fixture
def org(emulator, settings):
    assert emulator.control("POST", "/__emulator__/reset").status_code == 200
    for name, value in emulator.connection_env.items():
        setattr(settings, name, value)
    auth.clear_token_cache()
    breaker.reset()
    recorder.discard()
    yield emulator
    auth.clear_token_cache()


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
