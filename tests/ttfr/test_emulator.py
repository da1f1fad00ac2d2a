"""End to end against the emulated org: touches created there, and the responses of the traffic
generator's reps, give the right Lead fields through the incremental task; a backfill of
generated history matches the org's ground truth within the API budget, writing nothing on a
second run."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.utils import timezone

from salesforce import inbox, listener
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


def traffic(org, **body: object) -> dict:
    reply = org.control("POST", "/__emulator__/traffic", json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()


def traffic_status(org) -> dict:
    return org.control("GET", "/__emulator__/traffic").json()


def truth_records(org, origin: str) -> list[dict]:
    records = org.control("GET", "/__emulator__/truth").json()["records"]
    return [record for record in records if record.get("origin") == origin]


def assert_first_response_is_the_truth(org, item: dict) -> None:
    """The three fields against the truth's first response (who, and when within a second: its
    clock is read just after the org's). The minutes are checked to the exact two decimals from
    the org's own stamps of that touch and the lead's CreatedDate."""
    record = lead_record(org, item["id"])
    expected = item["first_response"]
    if expected is None:
        fields = (rules.FIELD_AT, rules.FIELD_USER, rules.FIELD_MINUTES)
        assert [record[name] for name in fields] == [None, None, None], item["id"]
        return
    at = parse_sf_datetime(record[rules.FIELD_AT])
    assert abs((at - parse_sf_datetime(expected["at"])).total_seconds()) < 1, item["id"]
    assert record[rules.FIELD_USER] == expected["user_id"], item["id"]
    sobject = "Task" if expected["activity_id"].startswith("00T") else "EmailMessage"
    touch = org.control("GET", f"/__emulator__/records/{sobject}/{expected['activity_id']}").json()
    touched = parse_sf_datetime(touch.get("CompletedDateTime") or touch.get("MessageDate"))
    created = parse_sf_datetime(record["CreatedDate"])
    assert at == touched.replace(microsecond=0), item["id"]  # the app writes whole seconds
    minutes = record[rules.FIELD_MINUTES]
    assert minutes == round((touched - created).total_seconds() / 60, 2), item["id"]
    truth_minutes = parse_sf_datetime(expected["at"]) - parse_sf_datetime(item["created_at"])
    assert abs(minutes - truth_minutes.total_seconds() / 60) <= 0.02, item["id"]


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
        assert_first_response_is_the_truth(org, item)


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


# Reps answer in seconds of real time (a simulated half hour at 600x), some never do, others
# call before the lead is routed; inbound emails and open to-dos are noise that never counts.
LIVE_REPS = {
    "time_scale": 600,
    "business_hours": False,
    "median_delay_minutes": 30,
    "delay_sigma": 0.4,
    "never_rate": 0.3,
    "reassign_rate": 0.0,
    "touch_before_rate": 0.15,
    "inbound_rate": 0.3,
    "todo_rate": 0.3,
}
ROUTED_TO = ("0055f0000000001AAA", "0055f0000000002AAA", "0055f0000000006AAA")


def test_live_traffic_responses_give_each_lead_its_true_first_response_incrementally(org):
    client = get_client(workload="ttfr")
    since = timezone.now() - dt.timedelta(minutes=1)

    def listen_and_process() -> None:
        """What the listener stores for the records changed since the last round (its polling
        read), then those inbox rows through the TTFR task."""
        nonlocal since
        round_started = timezone.now()
        changes = listener.changes_since(since, client=client, integration_user_id=INTEGRATION)
        if ids := inbox.events_store(changes=changes, source="poll"):
            tasks.process_activity(ids)
        since = round_started - dt.timedelta(seconds=5)

    # given 20-odd leads from the traffic generator, routed to reps by the app
    traffic(org, leads_per_min=1200, seed=5, **LIVE_REPS)
    deadline = time.monotonic() + 10
    while traffic_status(org)["leads_created"] < 20:
        assert time.monotonic() < deadline, "the traffic generator made no leads"
        time.sleep(0.1)
    traffic(org, leads_per_min=0, **LIVE_REPS)  # no new leads; the reps keep answering
    leads = truth_records(org, "traffic")
    listen_and_process()
    routed = [{"Id": t["id"], "OwnerId": ROUTED_TO[n % 3]} for n, t in enumerate(leads)]
    assert all(result.success for result in client.update_records("Lead", routed))

    # when the reps answer while the listener polls and TTFR processes each round
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        listen_and_process()
        status = traffic_status(org)
        if status["assignments_seen"] >= len(leads) and not status["pending_actions"]:
            break
        time.sleep(0.5)
    traffic(org, stop=True)
    listen_and_process()

    # then every lead has exactly its true first response, and unanswered ones have none
    truth = {t["id"]: t for t in truth_records(org, "traffic")}
    assert set(truth) == {t["id"] for t in leads}
    answered = [t for t in truth.values() if t["first_response"]]
    assert len(answered) >= 5 and len(answered) < len(truth)
    for item in truth.values():
        assert_first_response_is_the_truth(org, item)
