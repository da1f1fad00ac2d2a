"""Updates above 200 records go through the composite resource: up to five sObject Collections
subrequests, 1,000 records, per API call."""

import pytest

from salesforce.client import RecordResult, _composite_results, get_client

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
