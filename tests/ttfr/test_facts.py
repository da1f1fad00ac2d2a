"""The lead fact table: routing's assignment record, delays, business minutes and SLA flags."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings

from tests.ttfr.fakes import LEAD_A, REP, REP_2, T0, FakeClient, lead, task
from ttfr.models import LeadFact
from ttfr.services import lead_fact_assignment_record
from ttfr.services.detect import leads_recompute

pytestmark = pytest.mark.django_db
MIN = dt.timedelta(minutes=1)


def assign(
    *, at: dt.datetime = T0 + 2 * MIN, owner: str = REP, team: str = "NA", segment: str = "SMB"
) -> LeadFact:
    return lead_fact_assignment_record(
        lead_id=LEAD_A,
        assigned_at=at,
        owner_id=owner,
        team=team,
        segment=segment,
        region="NA",
        lead_source="Web",
        created_at=T0,
    )


def respond(minutes: float, *, now: dt.datetime | None = None) -> LeadFact:
    client = FakeClient()
    client.add("Lead", lead(LEAD_A))
    client.add("Task", task(at=T0 + dt.timedelta(minutes=minutes)))
    leads_recompute(client=client, lead_ids=[LEAD_A], now=now or T0 + dt.timedelta(days=3))
    return LeadFact.objects.get(lead_id=LEAD_A)


def test_assignment_record_is_idempotent_and_keeps_the_first_assignment():
    assign()
    assign()
    assign(at=T0 + 30 * MIN, owner=REP_2, team="EMEA")  # a later reassignment
    fact = LeadFact.objects.get(lead_id=LEAD_A)
    assert LeadFact.objects.count() == 1
    assert (fact.owner_id, fact.team, fact.assignment_delay_minutes) == (REP, "NA", 2.0)


def test_system_and_human_delays_split_the_response_time():
    assign(at=T0 + 3 * MIN)
    fact = respond(20)
    assert (fact.ttfr_minutes, fact.assignment_delay_minutes, fact.human_delay_minutes) == (
        20.0,
        3.0,
        17.0,
    )


def test_assignment_after_the_response_recomputes_the_delays():
    respond(20)
    fact = assign(at=T0 + 5 * MIN)
    assert (fact.ttfr_minutes, fact.human_delay_minutes) == (20.0, 15.0)


def test_business_minutes_use_the_team_calendar():
    # T0 is 09:00 in New York and 15:00 in Berlin; a reply 4 hours later
    assign(team="EMEA")
    assert respond(240).business_minutes == 180.0  # Berlin closes at 18:00
    LeadFact.objects.all().delete()
    assign(team="NA")
    assert respond(240).business_minutes == 240.0


@override_settings(TTFR_SLA_MINUTES=60, TTFR_SLA_MINUTES_BY_SEGMENT={"ENT": 15})
@pytest.mark.parametrize(
    ("segment", "minutes", "breached"),
    [("SMB", 45, False), ("SMB", 75, True), ("ENT", 45, True), ("ENT", 10, False)],
)
def test_sla_per_segment(segment, minutes, breached):
    assign(segment=segment)
    fact = respond(minutes)
    assert (fact.sla_minutes, fact.sla_breached) == (15 if segment == "ENT" else 60, breached)


def test_overnight_reply_breaches_raw_but_not_business_sla():
    # lead at 17:30 New York, answered 08:15 the next morning
    client = FakeClient()
    created = dt.datetime(2026, 3, 2, 22, 30, tzinfo=dt.UTC)
    client.add("Lead", lead(LEAD_A, created=created))
    client.add("Task", task(at=dt.datetime(2026, 3, 3, 13, 15, tzinfo=dt.UTC)))
    lead_fact_assignment_record(
        lead_id=LEAD_A,
        assigned_at=created,
        owner_id=REP,
        team="NA",
        segment="MM",
        region="NA",
        lead_source="Web",
        created_at=created,
    )
    leads_recompute(client=client, lead_ids=[LEAD_A], now=created + dt.timedelta(days=2))
    fact = LeadFact.objects.get(lead_id=LEAD_A)
    assert (fact.ttfr_minutes, fact.business_minutes) == (885.0, 45.0)
    assert (fact.sla_breached_raw, fact.sla_breached) == (True, False)
