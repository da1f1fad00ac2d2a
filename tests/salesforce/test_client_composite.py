"""Updates above 200 records go through the composite resource: up to five sObject Collections
subrequests, 1,000 records, per API call."""

import pytest

from salesforce.client import (
    RecordResult,
    SalesforceClient,
    SalesforceRequestError,
    _composite_results,
    get_client,
)

pytestmark = pytest.mark.django_db

REP = "0055f0000000001AAA"
OTHER_REP = "0055f0000000002AAA"
UNKNOWN_USER = "005000000000000AAA"


def queue_leads(emulator, count: int) -> list[str]:
    body = [{"LastName": f"L{n}", "Company": f"C{n}", "OwnerId": REP} for n in range(count)]
    return emulator.control("POST", "/__emulator__/records/Lead", json=body).json()["ids"]


def endpoint_calls(emulator) -> dict:
    return emulator.control("GET", "/__emulator__/stats").json()["by_endpoint"]


def test_a_thousand_updates_cost_one_api_call(sf_settings):
    # given 1,000 leads
    ids = queue_leads(sf_settings, 1000)
    before = endpoint_calls(sf_settings)
    # when their owner is updated
    results = get_client(workload="test").update_records(
        "Lead", [{"Id": lead_id, "OwnerId": OTHER_REP} for lead_id in ids]
    )
    # then every lead has the new owner, after one composite call
    assert [r.id for r in results] == ids
    assert all(r.success for r in results)
    after = endpoint_calls(sf_settings)
    assert after.get("POST composite", 0) - before.get("POST composite", 0) == 1
    assert after.get("PATCH composite", 0) == before.get("PATCH composite", 0)
    last = sf_settings.control("GET", f"/__emulator__/records/Lead/{ids[-1]}").json()
    assert last["OwnerId"] == OTHER_REP


def test_more_than_a_thousand_updates_take_one_call_per_thousand(sf_settings):
    ids = queue_leads(sf_settings, 1201)
    before = endpoint_calls(sf_settings).get("POST composite", 0)

    results = get_client(workload="test").update_records(
        "Lead", [{"Id": lead_id, "OwnerId": OTHER_REP} for lead_id in ids]
    )

    assert len(results) == 1201 and all(r.success for r in results)
    assert endpoint_calls(sf_settings)["POST composite"] - before == 2


def test_a_failing_record_in_a_composite_fails_alone(sf_settings):
    # given 450 leads, one of which gets an owner that does not exist
    ids = queue_leads(sf_settings, 450)
    records = [{"Id": lead_id, "OwnerId": OTHER_REP} for lead_id in ids]
    records[321]["OwnerId"] = UNKNOWN_USER
    # when they are updated together
    results = get_client(workload="test").update_records("Lead", records)
    # then only that lead fails, with Salesforce's reason, in input order
    assert [r.id for r in results] == ids
    assert [n for n, r in enumerate(results) if not r.success] == [321]
    assert results[321].errors


def test_a_subrequest_refused_as_a_whole_fails_each_of_its_records():
    # given a composite answer whose second subrequest was refused
    error = {"errorCode": "EXCEEDED_ID_LIMIT", "message": "too many"}
    reply = {
        "compositeResponse": [
            {
                "referenceId": "chunk0",
                "httpStatusCode": 200,
                "body": [{"id": "a", "success": True}],
            },
            {"referenceId": "chunk1", "httpStatusCode": 400, "body": [error]},
        ]
    }
    # when it is read
    results = _composite_results(reply, [["a"], ["b", "c"]])
    # then the first record succeeded and both records of the refused subrequest failed
    assert results == [
        RecordResult(id="a", success=True, errors=[]),
        RecordResult(id="b", success=False, errors=[error]),
        RecordResult(id="c", success=False, errors=[error]),
    ]


def test_queries_read_together_cost_the_pages_of_the_longest(sf_settings):
    # given 4,500 leads (three pages of 2,000) and a few tasks
    queue_leads(sf_settings, 4500)
    for n in range(3):
        sf_settings.control("POST", "/__emulator__/records/Task", json={"Subject": f"T{n}"})
    queries = [
        "SELECT Id FROM Lead ORDER BY Id",
        "SELECT Id, Subject FROM Task",
        "SELECT Id FROM Lead WHERE LastName = 'L7'",
        "SELECT Id FROM User WHERE Id = '005000000000000AAA'",
    ]
    client = get_client(workload="test")
    one_by_one = [client.query_all(soql) for soql in queries]
    before = endpoint_calls(sf_settings)
    # when they are read together
    together = client.query_all_many(queries)
    # then each query's records are complete and in order, after three composite calls
    assert together == one_by_one
    assert [len(rows) for rows in together] == [4500, 3, 1, 0]
    after = endpoint_calls(sf_settings)
    assert after["POST composite"] - before.get("POST composite", 0) == 3
    assert after.get("GET query", 0) == before.get("GET query", 0)


def test_more_than_five_queries_take_turns_five_a_call(sf_settings):
    ids = queue_leads(sf_settings, 7)
    client = get_client(workload="test")
    before = endpoint_calls(sf_settings).get("POST composite", 0)

    rows = client.query_ids_many(
        ["SELECT Id FROM Lead WHERE Id IN ({ids})", "SELECT Id FROM Task WHERE WhoId IN ({ids})"],
        ids,
        chunk=2,
    )

    assert sorted(r["Id"] for r in rows[0]) == sorted(ids) and rows[1] == []
    assert endpoint_calls(sf_settings)["POST composite"] - before == 2  # 8 queries: 5 + 3


def test_a_refused_query_among_others_raises_its_error(sf_settings):
    client = get_client(workload="test")

    with pytest.raises(SalesforceRequestError, match="INVALID_FIELD"):
        client.query_all_many(["SELECT Id FROM Lead", "SELECT Nope FROM Lead"])


def test_reads_together_are_retried_through_a_503(sf_settings):
    queue_leads(sf_settings, 30)
    faults = {"errors": {"composite": {"rate": 1.0, "status": 503}}}
    sf_settings.control("POST", "/__emulator__/faults", json=faults)
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the org recovers while the client backs off
        waits.append(seconds)
        sf_settings.control("POST", "/__emulator__/faults", json={"clear": True})

    client = SalesforceClient(workload="test", sleep=sleep)
    leads, tasks = client.query_all_many(["SELECT Id FROM Lead", "SELECT Id FROM Task"])

    assert (len(leads), tasks, len(waits)) == (30, [], 1)
