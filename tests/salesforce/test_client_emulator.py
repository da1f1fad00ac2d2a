"""The REST client against the emulator: batching, paging, partial failures, headers, retries,
the circuit breaker and usage accounting."""

import datetime as dt

import pytest
from django.utils import timezone

from salesforce import auth
from salesforce.client import (
    BatchInterrupted,
    RetryPolicy,
    SalesforceClient,
    SalesforceUnavailable,
    get_client,
)
from salesforce.models import ApiUsage, OrgLimitSnapshot
from salesforce.selectors import api_status_get
from salesforce.soql import soql_quote
from salesforce.usage import breaker, recorder

pytestmark = pytest.mark.django_db

REP = "0055f0000000001AAA"
OTHER_REP = "0055f0000000002AAA"


def stats(emulator) -> dict:
    return emulator.control("GET", "/__emulator__/stats").json()


def human_leads(emulator, count: int) -> list[str]:
    body = [{"LastName": f"Lead {n}", "Company": f"Company {n}"} for n in range(count)]
    response = emulator.control("POST", "/__emulator__/records/Lead", json=body)
    assert response.status_code == 201, response.text
    return response.json()["ids"]


def owner_changes(emulator, lead_id: str, owner: str) -> list[dict]:
    history = emulator.control("GET", f"/__emulator__/history/Lead/{lead_id}").json()
    return [h for h in history if h["field"] == "OwnerId" and h["new"] == owner]


def test_query_all_follows_every_page(sf_settings):
    human_leads(sf_settings, 2100)

    records = get_client(workload="test").query_all("SELECT Id, Company FROM Lead")

    assert len(records) == 2100
    assert len({record["Id"] for record in records}) == 2100
    assert records[0]["attributes"]["type"] == "Lead"
    assert stats(sf_settings)["by_endpoint"]["GET query"] == 2


def test_query_ids_sends_one_query_per_chunk(sf_settings):
    ids = human_leads(sf_settings, 450)

    records = get_client(workload="test").query_ids(
        "SELECT Id FROM Lead WHERE Id IN ({ids})", ids, chunk=200
    )

    assert sorted(record["Id"] for record in records) == sorted(ids)
    assert stats(sf_settings)["by_endpoint"]["GET query"] == 3


def test_quoted_values_match_exactly_in_the_org(sf_settings):
    tricky = 'O\'Brien \\ "Sons"\nLtd'
    human_leads(sf_settings, 2)
    sf_settings.control(
        "POST", "/__emulator__/records/Lead", json={"LastName": "X", "Company": tricky}
    )

    records = get_client(workload="test").query_all(
        f"SELECT Company FROM Lead WHERE Company = {soql_quote(tricky)}"
    )

    assert [record["Company"] for record in records] == [tricky]


@pytest.mark.parametrize(
    ("count", "calls"),
    [
        (1, {"POST composite": 1, "PATCH composite": 1}),
        (200, {"POST composite": 1, "PATCH composite": 1}),
        # 3 Collections creates, then the 450 updates in one composite call (3 subrequests)
        (450, {"POST composite": 3 + 1}),
    ],
)
def test_collections_write_every_record_in_batches_of_200(sf_settings, count, calls):
    client = get_client(workload="test")
    records = [{"LastName": f"L{n}", "Company": f"C{n}", "OwnerId": REP} for n in range(count)]

    created = client.create_records("Lead", records)
    updated = client.update_records("Lead", [{"Id": r.id, "OwnerId": OTHER_REP} for r in created])

    assert [r.success for r in created] == [True] * count
    assert len({r.id for r in created}) == count
    assert [r.id for r in updated] == [r.id for r in created]
    assert all(r.success for r in updated)
    counters = stats(sf_settings)
    assert counters["records"]["Lead"] == count
    assert {k: v for k, v in counters["by_endpoint"].items() if "composite" in k} == calls


def test_partial_failure_is_reported_for_the_failing_record_only(sf_settings):
    ids = human_leads(sf_settings, 3)
    bad_owner = "005000000000000AAA"
    client = get_client(workload="test")

    results = client.update_records(
        "Lead",
        [
            {"Id": ids[0], "OwnerId": OTHER_REP},
            {"Id": ids[1], "OwnerId": bad_owner},
            {"Id": ids[2], "OwnerId": OTHER_REP},
        ],
    )

    assert [r.success for r in results] == [True, False, True]
    assert results[1].id == ids[1]
    assert results[1].errors[0]["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"
    assert owner_changes(sf_settings, ids[0], OTHER_REP)
    assert owner_changes(sf_settings, ids[2], OTHER_REP)
    assert not owner_changes(sf_settings, ids[1], bad_owner)


def test_failed_create_has_no_id_and_the_others_are_created(sf_settings):
    results = get_client(workload="test").create_records(
        "Lead", [{"LastName": "A", "Company": "A"}, {"Company": "No last name"}]
    )

    assert results[0].success and results[0].id.startswith("00Q")
    assert (results[1].success, results[1].id) == (False, None)
    assert results[1].errors[0]["statusCode"] == "REQUIRED_FIELD_MISSING"


def test_records_are_deleted_in_collections(sf_settings):
    ids = human_leads(sf_settings, 3)
    client = get_client(workload="test")

    results = client.delete_records(ids)

    assert [(r.id, r.success) for r in results] == [(i, True) for i in ids]
    assert stats(sf_settings)["records"]["Lead"] == 0


def test_every_call_is_tagged_and_lead_writes_skip_assignment_rules(sf_settings):
    sent: list[tuple[str, str, dict]] = []
    session = auth.http_session()
    hook = lambda response, **_: sent.append(  # noqa: E731
        (response.request.method, response.request.url, dict(response.request.headers))
    )
    session.hooks["response"].append(hook)
    try:
        client = get_client(workload="test")
        lead = client.create_records("Lead", [{"LastName": "A", "Company": "B"}])[0]
        client.update_records("Lead", [{"Id": lead.id, "OwnerId": REP}])
        client.create_records("Task", [{"WhoId": lead.id, "Subject": "Call"}])
        client.describe("Lead")
    finally:
        session.hooks["response"].remove(hook)

    api_calls = [call for call in sent if "/services/data/" in call[1]]
    assert len(api_calls) == 4
    assert all(h["Sforce-Call-Options"] == "client=flywheel" for _, _, h in api_calls)
    assert [h.get("Sforce-Auto-Assign") for _, _, h in api_calls] == ["FALSE", "FALSE", None, None]
    assert {h["client"] for h in owner_changes(sf_settings, lead.id, REP)} == {"flywheel"}


def test_email_simple_reports_each_input(sf_settings):
    lead_id = human_leads(sf_settings, 1)[0]
    good = {
        "emailAddresses": "lead@example.com",
        "emailSubject": "Hello",
        "emailBody": "Thanks for reaching out.",
        "senderType": "CurrentUser",
        "relatedRecordId": lead_id,
    }
    client = get_client(workload="templates")

    mixed = client.send_email_simple([good, {**good, "emailBody": ""}])
    all_failed = client.send_email_simple([{**good, "emailSubject": ""}])

    assert [r["isSuccess"] for r in mixed] == [True, False]
    assert mixed[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert [r["isSuccess"] for r in all_failed] == [False]
    assert stats(sf_settings)["records"]["EmailMessage"] == 1


def test_writes_land_exactly_once_under_20_percent_503s(sf_settings):
    sf_settings.control(
        "POST", "/__emulator__/faults", json={"errors": {"rest": {"rate": 0.2, "status": 503}}}
    )
    sleeps: list[float] = []
    client = SalesforceClient(
        workload="test", sleep=sleeps.append, policy=RetryPolicy(attempts=8, base_seconds=0.001)
    )
    created: list[str] = []

    for start in range(0, 450, 10):
        records = [{"LastName": f"L{n}", "Company": "C"} for n in range(start, start + 10)]
        created += [r.id for r in client.create_records("Lead", records) if r.success]
    for start in range(0, 450, 10):
        client.update_records(
            "Lead", [{"Id": i, "OwnerId": REP} for i in created[start : start + 10]]
        )

    counters = stats(sf_settings)
    assert counters["by_status"]["503"] >= 5 and len(sleeps) == counters["by_status"]["503"]
    assert counters["records"]["Lead"] == 450 == len(set(created))
    assert all(len(owner_changes(sf_settings, i, REP)) == 1 for i in created)


def test_dropped_connection_retries_an_update_but_never_resends_a_create(sf_settings):
    sleeps: list[float] = []
    client = SalesforceClient(
        workload="test", sleep=sleeps.append, policy=RetryPolicy(attempts=3, base_seconds=0.001)
    )
    client.limits()  # logged in before connections drop
    sf_settings.control("POST", "/__emulator__/faults", json={"drop_rate": {"composite": 1.0}})

    with pytest.raises(BatchInterrupted, match="not resent") as create_failure:
        client.create_records("Lead", [{"LastName": "A", "Company": "B"}])
    assert sleeps == []
    with pytest.raises(BatchInterrupted, match="3 times"):
        client.update_records("Lead", [{"Id": "00Q5f000000AAAAEA4", "OwnerId": REP}])

    assert create_failure.value.completed == []
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0] / 2


def test_exhausted_api_limit_opens_the_circuit_instead_of_hammering(sf_settings, settings):
    settings.SF_CIRCUIT_THRESHOLD = 6
    sf_settings.control("POST", "/__emulator__/faults", json={"limit_exhausted": True})
    client = SalesforceClient(
        workload="test", sleep=lambda _: None, policy=RetryPolicy(attempts=4, base_seconds=0.001)
    )

    for _ in range(10):
        with pytest.raises(SalesforceUnavailable):
            client.limits()

    assert stats(sf_settings)["by_status"]["403"] == 6
    status = api_status_get()
    assert status["circuit_open"] is True
    assert "REQUEST_LIMIT_EXCEEDED" in status["circuit_reason"]


def test_circuit_closes_on_the_first_success_after_the_cooldown(sf_settings, settings):
    settings.SF_CIRCUIT_THRESHOLD = 1
    sf_settings.control("POST", "/__emulator__/faults", json={"errors": {"limits": {"rate": 1.0}}})
    client = SalesforceClient(
        workload="test", sleep=lambda _: None, policy=RetryPolicy(attempts=1, base_seconds=0.001)
    )
    with pytest.raises(SalesforceUnavailable):
        client.limits()
    sf_settings.control("POST", "/__emulator__/faults", json={"clear": True})
    with pytest.raises(SalesforceUnavailable, match="paused"):
        client.limits()

    OrgLimitSnapshot.objects.update(circuit_open_until=timezone.now() - dt.timedelta(seconds=1))
    breaker.reset()
    client.limits()

    assert api_status_get()["circuit_open"] is False


def test_usage_is_counted_by_workload_and_endpoint_with_the_org_figures(sf_settings):
    routing, ttfr = get_client(workload="routing"), get_client(workload="ttfr")
    routing.describe("Lead")
    routing.create_records("Lead", [{"LastName": "A", "Company": "B"}])
    ttfr.limits()
    ttfr.limits()

    recorder.flush()

    counts = {(u.workload, u.endpoint): u.calls for u in ApiUsage.objects.all()}
    assert counts == {
        ("auth", "oauth2/token"): 1,
        ("routing", "describe"): 1,
        ("routing", "composite/sobjects"): 1,
        ("ttfr", "limits"): 2,
    }
    snapshot = OrgLimitSnapshot.objects.get()
    assert snapshot.api_used == stats(sf_settings)["api_usage"]["used"]
    assert snapshot.api_max == stats(sf_settings)["api_usage"]["limit"]
