"""The traffic generator inside one org: leads, simulated reps, noise, history and ground truth."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web

from sf_emulator import traffic as traffic_module
from sf_emulator.changes import RecordChange
from sf_emulator.org import Org
from sf_emulator.truth import TruthStore

QUICK = {"time_scale": 1e6, "business_hours": False, "median_delay_minutes": 1.0}
CALM = {"never_rate": 0.0, "reassign_rate": 0.0, "inbound_rate": 0.0, "todo_rate": 0.0}
CALM |= {"touch_before_rate": 0.0}


@pytest.fixture
def org(tmp_path: Path) -> Org:
    org = Org(state_dir=tmp_path / "org", seed=3)
    traffic_module.install(web.Application(), org)
    return org


def run(org: Org, scenario: Callable[[], object]) -> None:
    async def main() -> None:
        await org.traffic.on_startup()
        try:
            await scenario()
        finally:
            org.traffic.stop()

    asyncio.run(main())


def activities_for(org: Org, lead_id: str) -> list[dict]:
    tasks = org.store.rows_where("Task", "WhoId", [lead_id])
    relations = org.store.rows_where("EmailMessageRelation", "RelationId", [lead_id])
    emails = [org.store.get("EmailMessage", rel["EmailMessageId"]) for rel in relations]
    return [*tasks, *emails]


def assign(org: Org, lead_id: str, rep_id: str) -> None:
    org.store.update("Lead", lead_id, {"OwnerId": rep_id}, user_id=org.integration_user_id)


async def wait_for(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def test_rep_answers_an_assigned_lead_after_the_scaled_delay(org: Org):
    rep = org.users[5]["id"]

    async def scenario() -> None:
        org.traffic.start(
            leads_per_min=0,
            time_scale=120,
            business_hours=False,
            median_delay_minutes=1.0,
            delay_sigma=0.01,
            **CALM,
        )
        lead_id = org.traffic.create_lead()
        assigned = time.monotonic()
        assign(org, lead_id, rep)
        await wait_for(lambda: org.truth.describe(lead_id)["first_response"] is not None)

        waited = time.monotonic() - assigned
        assert 0.4 < waited < 2.5  # one simulated minute at 120x is half a second
        [activity] = activities_for(org, lead_id)
        assert activity["CreatedById"] == rep
        first = org.truth.describe(lead_id)["first_response"]
        assert first["user_id"] == rep and first["activity_id"] == activity["Id"]

    run(org, scenario)


def test_only_the_integration_users_assignment_makes_reps_answer(org: Org):
    rep, other = org.users[0]["id"], org.users[1]["id"]

    async def scenario() -> None:
        org.traffic.start(leads_per_min=0, **QUICK, **CALM)
        lead_id = org.traffic.create_lead()
        org.store.update("Lead", lead_id, {"OwnerId": rep}, user_id=other)
        await asyncio.sleep(0.2)

        assert activities_for(org, lead_id) == []
        assert org.traffic.status()["assignments_seen"] == 0

    run(org, scenario)


def test_inbound_mail_and_todo_tasks_are_created_but_are_not_responses(org: Org):
    rep = org.users[2]["id"]
    noisy = {**CALM, "inbound_rate": 1.0, "todo_rate": 1.0, "never_rate": 1.0}

    async def scenario() -> None:
        org.traffic.start(leads_per_min=0, **QUICK, **noisy)
        lead_id = org.traffic.create_lead()
        assign(org, lead_id, rep)
        await wait_for(lambda: len(activities_for(org, lead_id)) == 2)

        by_type = {record["Id"][:3]: record for record in activities_for(org, lead_id)}
        assert by_type["02s"]["Incoming"] is True
        assert by_type["00T"]["Status"] == "Not Started"
        described = org.truth.describe(lead_id)
        kinds = {event["kind"] for event in described["events"]}
        assert {"inbound_email", "todo_task", "never_respond"} <= kinds
        assert described["first_response"] is None

    run(org, scenario)


def test_a_rep_can_hand_the_lead_to_a_colleague_who_then_answers(org: Org):
    rep = org.users[0]["id"]

    async def scenario() -> None:
        org.traffic.start(leads_per_min=0, **QUICK, **{**CALM, "reassign_rate": 1.0})
        lead_id = org.traffic.create_lead()
        assign(org, lead_id, rep)
        await wait_for(lambda: org.truth.describe(lead_id)["first_response"] is not None)

        lead = org.store.get("Lead", lead_id)
        assert lead["OwnerId"] != rep and lead["LastModifiedById"] == rep
        owner_changes = [
            row for row in org.store.history("Lead", lead_id) if row["field"] == "OwnerId"
        ]
        assert owner_changes[-1]["user_id"] == rep
        described = org.truth.describe(lead_id)
        [handover] = [event for event in described["events"] if event["kind"] == "reassigned"]
        assert handover["to"] == lead["OwnerId"]
        assert described["first_response"]["user_id"] == lead["OwnerId"]

    run(org, scenario)


def test_some_reps_touch_a_lead_before_it_is_assigned(org: Org):
    async def scenario() -> None:
        org.traffic.start(leads_per_min=0, **QUICK, **{**CALM, "touch_before_rate": 1.0})
        lead_id = org.traffic.create_lead()

        [task] = activities_for(org, lead_id)
        lead = org.store.get("Lead", lead_id)
        assert lead["OwnerId"].startswith("00G")  # still in the intake queue
        assert task["Status"] == "Completed" and task["CreatedById"] == lead["CreatedById"]
        assert org.truth.describe(lead_id)["first_response"]["kind"] == "touch_before_assignment"

    run(org, scenario)


def test_stopping_cancels_pending_rep_actions(org: Org):
    async def scenario() -> None:
        org.traffic.start(leads_per_min=0, time_scale=1.0, business_hours=False, **CALM)
        lead_id = org.traffic.create_lead()
        assign(org, lead_id, org.users[0]["id"])
        await asyncio.sleep(0.05)
        assert org.traffic.status()["pending_actions"] == 1

        org.traffic.stop()

        assert org.traffic.status()["pending_actions"] == 0
        assert activities_for(org, lead_id) == []

    run(org, scenario)


def test_leads_arrive_at_the_requested_rate_as_human_writes(org: Org):
    creates: list[RecordChange] = []
    org.store.subscribe(lambda change: creates.append(change) if change.entity == "Lead" else None)

    async def scenario() -> None:
        org.traffic.start(leads_per_min=1200, **QUICK)
        await asyncio.sleep(1.0)

    run(org, scenario)

    assert 8 <= len(creates) <= 40
    assert all(change.change_type == "CREATE" for change in creates)
    assert org.integration_user_id not in {change.user_id for change in creates}
    assert all(org.truth.truth_for(change.record_id) is not None for change in creates)


def test_the_same_seed_replays_the_same_leads(tmp_path: Path):
    companies = []
    for name in ("a", "b"):
        org = Org(state_dir=tmp_path / name, seed=11)
        traffic_module.install(web.Application(), org)
        ids = [org.traffic.create_lead() for _ in range(20)]
        companies.append([org.store.get("Lead", lead_id)["Company"] for lead_id in ids])

    assert companies[0] == companies[1]


def test_history_mode_backdates_leads_owners_and_responses(org: Org):
    async def scenario() -> None:
        result = await org.traffic.generate_history(days=3, leads_per_day=40, seed=5)
        assert result["created"] == 120

    run(org, scenario)

    now = org.clock()
    leads = list(org.store.rows("Lead"))
    assert len(leads) == 120
    assert all(now - dt.timedelta(days=3) <= lead["CreatedDate"] < now for lead in leads)
    assert min(lead["CreatedDate"] for lead in leads) < now - dt.timedelta(days=2)
    owned = [lead for lead in leads if lead["OwnerId"].startswith("005")]
    assert len(owned) > 100
    answered = 0
    for lead in owned:
        first = org.truth.describe(lead["Id"])["first_response"]
        if first:
            answered += 1
            activity = org.store.get(first["activity_id"])
            assert lead["CreatedDate"] < activity["CreatedDate"] <= now
    assert answered > 60


def test_ground_truth_survives_a_restart(org: Org, tmp_path: Path):
    lead_id = org.traffic.create_lead()
    before = org.truth.describe(lead_id)
    org.truth.close()

    reopened = TruthStore(path=org.state_dir / traffic_module.TRUTH_FILE)

    assert reopened.describe(lead_id) == before
    assert reopened.describe(lead_id[:15])["id"] == lead_id


def test_org_reset_stops_traffic_forgets_the_truth_and_replays_the_stream(org: Org):
    lead_id = org.traffic.create_lead()
    company = org.store.get("Lead", lead_id)["Company"]

    org.reset()

    assert org.truth.describe(lead_id) is None
    assert org.traffic.status()["running"] is False
    assert org.traffic.status()["leads_created"] == 0
    assert org.store.get("Lead", org.traffic.create_lead())["Company"] == company
