"""End to end against the emulated org: touches created there give the right Lead fields through
the incremental task, and a backfill of generated history matches the org's ground truth within
the API budget, writing nothing on a second run."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from salesforce.client import get_client
from salesforce.models import ChangeEvent
from salesforce.records import parse_sf_datetime
from ttfr import rules, tasks
from ttfr.models import LeadFact, SlaBreach
from ttfr.services import lead_fact_assignment_record
from ttfr.services.backfill import ttfr_backfill

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
REP = "0055f0000000001AAA"
REP_2 = "0055f0000000006AAA"
INTEGRATION = "0055f000000001cAAA"
HISTORY_DAYS, LEADS_PER_DAY = 10, 200


@pytest.fixture
def org(sf_settings):
    return sf_settings


def stamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


def create(org, sobject: str, fields: dict, *, user: str = REP) -> ChangeEvent:
    """Create a record in the org as a user would, and store its CREATE event in the inbox."""
    record_id = org.control(
        "POST", f"/__emulator__/records/{sobject}", json={**fields, "_user_id": user}
    ).json()["id"]
    record = org.control("GET", f"/__emulator__/records/{sobject}/{record_id}").json()
    return ChangeEvent.objects.create(
        entity=sobject,
        change_type="CREATE",
        record_id=record_id,
        fields={k: v for k, v in record.items() if k != "attributes" and v is not None},
        commit_timestamp=timezone.now(),
        commit_user=user,
    )


def lead_record(org, lead_id: str) -> dict:
    return org.control("GET", f"/__emulator__/records/Lead/{lead_id}").json()


def endpoint_calls(org) -> dict[str, int]:
    return org.control("GET", "/__emulator__/stats").json()["by_endpoint"]


def test_touches_created_in_the_org_set_the_lead_fields_once(org):
    created = timezone.now().replace(microsecond=0) - dt.timedelta(hours=2)
    lead = create(
        org, "Lead", {"LastName": "Doe", "Company": "Acme", "CreatedDate": stamp(created)}
    )
    lead_id = lead.record_id
    at = {minutes: stamp(created + dt.timedelta(minutes=minutes)) for minutes in (3, 5, 9, 41, 70)}
    done = {"Status": "Completed"}
    bot = {"WhoId": lead_id, "TaskSubtype": "Email", **done, "CompletedDateTime": at[3]}
    todo = {"WhoId": lead_id, "TaskSubtype": "Call", "Status": "Not Started", "CreatedDate": at[5]}
    inbound = {"Incoming": True, "Status": "0", "MessageDate": at[9], "FromAddress": "d@acme.test"}
    outbound = {"Incoming": False, "Status": "3", "MessageDate": at[41], "FromAddress": "l@f.demo"}
    call = {"WhoId": lead_id, "TaskSubtype": "Call", **done, "CompletedDateTime": at[70]}
    events = [
        create(org, "Task", bot, user=INTEGRATION),
        create(org, "Task", todo),
        create(org, "EmailMessage", inbound),
        create(org, "EmailMessage", outbound, user=REP_2),
        create(org, "Task", call),
    ]
    for email_event in events[2:4]:
        relation = {"EmailMessageId": email_event.record_id, "RelationId": lead_id}
        org.control("POST", "/__emulator__/records/EmailMessageRelation", json=relation)
    ids = [e.id for e in events]
    before = endpoint_calls(org)

    tasks.process_activity(ids)
    tasks.process_activity(ids)

    record = lead_record(org, lead_id)
    assert parse_sf_datetime(record[rules.FIELD_AT]) == created + dt.timedelta(minutes=41)
    assert record[rules.FIELD_USER] == REP_2
    assert record[rules.FIELD_MINUTES] == 41.0
    after = endpoint_calls(org)
    assert after.get("PATCH composite", 0) - before.get("PATCH composite", 0) == 1
    fact = LeadFact.objects.get(lead_id=lead_id)
    assert fact.first_automated_at == created + dt.timedelta(minutes=3)


def test_backfill_of_generated_history_matches_the_truth_within_budget(org):
    reply = org.control(
        "POST",
        "/__emulator__/traffic",
        json={"history_days": HISTORY_DAYS, "leads_per_day": LEADS_PER_DAY, "seed": 11},
    )
    assert reply.status_code == 200, reply.text
    leads = HISTORY_DAYS * LEADS_PER_DAY
    since = (timezone.now() - dt.timedelta(days=HISTORY_DAYS + 1)).date()
    client = get_client(workload="ttfr_backfill")

    def api_calls() -> int:
        stats = org.control("GET", "/__emulator__/stats").json()["by_endpoint"]
        return sum(n for name, n in stats.items() if not name.endswith("oauth"))

    first = ttfr_backfill(client=client, since=since, dry_run=False, api_calls=api_calls)
    second = ttfr_backfill(client=client, since=since, dry_run=False, api_calls=api_calls)

    assert first.scanned == second.scanned == leads
    assert first.updated > leads * 0.5
    assert (second.updated, second.unchanged) == (0, leads)
    assert first.calls_per_lead <= 0.002 and second.calls_per_lead <= 0.002
    truth = org.control("GET", "/__emulator__/truth").json()["records"]
    sample = [t for t in truth if t.get("origin") == "history"][:40]
    for item in sample:
        record = lead_record(org, item["id"])
        expected = item["first_response"]
        if expected is None:
            assert record[rules.FIELD_AT] is None, item["id"]
            continue
        at = parse_sf_datetime(record[rules.FIELD_AT])
        assert abs((at - parse_sf_datetime(expected["at"])).total_seconds()) < 1, item["id"]
        assert record[rules.FIELD_USER] == expected["user_id"]


def test_sla_breach_emails_the_owners_manager_from_the_org(org, settings):
    # Jordan Smith reports to Avery Nguyen in the seeded org; the lead is three days old, so past
    # its 60 business minutes whatever the weekday
    settings.TTFR_SLA_ACTIONS = ["notify"]
    lead = create(org, "Lead", {"LastName": "Late", "Company": "Slow Co"}).record_id
    created = timezone.now() - dt.timedelta(days=3)
    lead_fact_assignment_record(
        lead_id=lead,
        assigned_at=created,
        owner_id="0055f0000000002AAA",
        team="NA",
        segment="SMB",
        region="NA",
        created_at=created,
    )

    tasks.check_sla()
    tasks.check_sla()

    emails = get_client(workload="test").query_all(
        "SELECT Id, ToAddress, Subject, TextBody, CreatedById FROM EmailMessage"
    )
    assert [e["ToAddress"] for e in emails] == ["avery.nguyen@flywheel.demo"]  # once
    assert lead in emails[0]["TextBody"] and "Jordan" in emails[0]["TextBody"]
    assert SlaBreach.objects.get(lead_id=lead).notified_to == "avery.nguyen@flywheel.demo"
    assert lead_record(org, lead)[rules.FIELD_AT] is None  # the email is no touch on the lead
