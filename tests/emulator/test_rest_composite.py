"""sObject Collections and the emailSimple action through simple-salesforce."""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sf_emulator.testing import EmulatorProcess

pytestmark = pytest.mark.integration
INTEGRATION_USER = "0055f000000001cAAA"
QUEUE = "00G5f0000000001EAA"


def lead(number: int, **extra: object) -> dict:
    return {
        "attributes": {"type": "Lead"},
        "LastName": f"L{number}",
        "Company": f"C{number}",
        **extra,
    }


def records_of(fresh_org: EmulatorProcess, sobject: str) -> int:
    return fresh_org.control("GET", "/__emulator__/stats").json()["records"][sobject]


def test_create_two_hundred_leads_in_one_call(sf: Salesforce, fresh_org: EmulatorProcess) -> None:
    results = sf.restful(
        "composite/sobjects", method="POST", json={"records": [lead(n) for n in range(200)]}
    )

    assert len(results) == 200 and all(r["success"] and r["errors"] == [] for r in results)
    assert len({r["id"] for r in results}) == 200
    assert records_of(fresh_org, "Lead") == 200


def test_partial_success_reports_each_record(sf: Salesforce, fresh_org: EmulatorProcess) -> None:
    body = {
        "allOrNone": False,
        "records": [lead(1), {"attributes": {"type": "Lead"}, "LastName": "X"}],
    }

    ok, failed = sf.restful("composite/sobjects", method="POST", json=body)

    assert ok["success"] is True
    assert failed == {
        "success": False,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [Company]",
                "fields": ["Company"],
            }
        ],
    }
    assert records_of(fresh_org, "Lead") == 1


def test_all_or_none_rolls_back_every_record(sf: Salesforce, fresh_org: EmulatorProcess) -> None:
    body = {"allOrNone": True, "records": [lead(1), lead(2, OwnerId="bad")]}

    first, second = sf.restful("composite/sobjects", method="POST", json=body)

    assert first["success"] is False
    assert first["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert second["errors"][0]["statusCode"] == "MALFORMED_ID"
    assert records_of(fresh_org, "Lead") == 0


def test_update_and_delete_collections(sf: Salesforce, fresh_org: EmulatorProcess) -> None:
    ids = [
        r["id"]
        for r in sf.restful(
            "composite/sobjects", method="POST", json={"records": [lead(1), lead(2)]}
        )
    ]
    updates = [{"attributes": {"type": "Lead"}, "Id": i, "OwnerId": QUEUE} for i in ids]
    updates.append({"attributes": {"type": "Lead"}, "OwnerId": QUEUE})

    updated = sf.restful("composite/sobjects", method="PATCH", json={"records": updates})
    deleted = sf.restful(
        "composite/sobjects", method="DELETE", params={"ids": ",".join([*ids, "bogus"])}
    )

    assert [r["success"] for r in updated] == [True, True, False]
    assert [r["id"] for r in updated[:2]] == ids
    assert updated[2]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    stored = fresh_org.control("GET", f"/__emulator__/records/Lead/{ids[0]}").json()
    assert stored["OwnerId"] == QUEUE and stored["IsDeleted"] is True
    assert [r["success"] for r in deleted] == [True, True, False]
    assert deleted[2] == {
        "id": "bogus",
        "success": False,
        "errors": [{"statusCode": "MALFORMED_ID", "message": "malformed id bogus", "fields": []}],
    }
    assert records_of(fresh_org, "Lead") == 0


def test_more_than_two_hundred_records_is_refused(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful(
            "composite/sobjects", method="POST", json={"records": [lead(n) for n in range(201)]}
        )

    assert caught.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_records_without_a_type_fail_alone(sf: Salesforce) -> None:
    results = sf.restful(
        "composite/sobjects", method="POST", json={"records": [{"LastName": "X"}, lead(1)]}
    )

    assert results[0]["errors"][0]["statusCode"] == "INVALID_TYPE"
    assert results[1]["success"] is True


def test_email_simple_stores_a_sent_email_linked_to_the_lead(
    sf: Salesforce, fresh_org: EmulatorProcess
) -> None:
    lead_id = sf.Lead.create(
        {"LastName": "Byron", "Company": "Engines", "Email": "ada@engines.test"}
    )["id"]
    inputs = [
        {
            "emailAddresses": "ada@engines.test",
            "emailSubject": "Thanks for reaching out",
            "emailBody": "Hello Ada",
            "senderType": "CurrentUser",
            "relatedRecordId": lead_id,
            "logEmailOnSend": True,
        },
        {"emailAddresses": "x@y.test", "emailBody": "no subject"},
    ]

    results = sf.restful("actions/standard/emailSimple", method="POST", json={"inputs": inputs})

    assert results[0] == {
        "actionName": "emailSimple",
        "errors": None,
        "isSuccess": True,
        "outputValues": None,
    }
    assert results[1]["isSuccess"] is False
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    counts = fresh_org.control("GET", "/__emulator__/stats").json()["records"]
    assert (counts["EmailMessage"], counts["EmailMessageRelation"], counts["Task"]) == (1, 2, 1)


def test_email_simple_with_every_input_invalid_is_a_bad_request(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful(
            "actions/standard/emailSimple",
            method="POST",
            json={
                "inputs": [
                    {
                        "emailAddresses": "a@b.test",
                        "emailSubject": "s",
                        "emailBody": "b",
                        "relatedRecordId": "bad",
                    }
                ]
            },
        )

    assert caught.value.content[0]["errors"][0]["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"


def composite_of(subrequests: int, records: int) -> dict:
    url = "/services/data/v59.0/composite/sobjects"
    return {
        "compositeRequest": [
            {
                "method": "POST",
                "url": url,
                "referenceId": f"r{n}",
                "body": {"records": [lead(n * 1000 + i) for i in range(records)]},
            }
            for n in range(subrequests)
        ]
    }


def test_composite_holds_five_collections_in_one_call(
    sf: Salesforce, fresh_org: EmulatorProcess
) -> None:
    reply = sf.restful("composite", method="POST", json=composite_of(5, 200))

    answers = reply["compositeResponse"]
    assert [a["referenceId"] for a in answers] == ["r0", "r1", "r2", "r3", "r4"]
    assert all(a["httpStatusCode"] == 200 and len(a["body"]) == 200 for a in answers)
    assert records_of(fresh_org, "Lead") == 1000
    stats = fresh_org.control("GET", "/__emulator__/stats").json()["by_endpoint"]
    assert stats["POST composite"] == 1


def test_composite_refuses_a_sixth_collection(sf: Salesforce, fresh_org: EmulatorProcess) -> None:
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.restful("composite", method="POST", json=composite_of(6, 1))

    assert refused.value.content[0]["errorCode"] == "LIMIT_EXCEEDED"
    assert records_of(fresh_org, "Lead") == 0


def test_composite_subrequest_over_200_records_fails_alone(
    sf: Salesforce, fresh_org: EmulatorProcess
) -> None:
    body = composite_of(2, 1)
    body["compositeRequest"][1]["body"]["records"] = [lead(i) for i in range(201)]

    first, second = sf.restful("composite", method="POST", json=body)["compositeResponse"]

    assert first["httpStatusCode"] == 200 and first["body"][0]["success"] is True
    assert second["httpStatusCode"] == 400
    assert second["body"][0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert records_of(fresh_org, "Lead") == 1


def query_sub(reference: str, url: str, **extra: object) -> dict:
    return {"method": "GET", "url": url, "referenceId": reference, **extra}


def composite_answers(sf: Salesforce, *subrequests: dict) -> list[dict]:
    body = {"compositeRequest": list(subrequests)}
    return sf.restful("composite", method="POST", json=body)["compositeResponse"]


def test_composite_reads_the_pages_of_several_queries_in_one_call(
    sf: Salesforce, fresh_org: EmulatorProcess
) -> None:
    sf.restful("composite", method="POST", json=composite_of(5, 200))
    base = f"/services/data/v{sf.sf_version}"
    soql = "SELECT+Id+FROM+Lead+ORDER+BY+Id"
    first = composite_answers(
        sf,
        query_sub("all", f"{base}/query/?q={soql}"),
        query_sub(
            "small",
            f"{base}/queryAll/?q={soql}",
            httpHeaders={"Sforce-Query-Options": "batchSize=300"},
        ),
        query_sub("none", f"{base}/query/?q=SELECT+Id+FROM+Task"),
    )
    pages = {answer["referenceId"]: answer["body"] for answer in first}
    assert pages["all"]["done"] is True and len(pages["all"]["records"]) == 1000
    assert pages["small"]["done"] is False and len(pages["small"]["records"]) == 300
    assert pages["none"] == {"totalSize": 0, "done": True, "records": []}

    more = composite_answers(sf, query_sub("next", pages["small"]["nextRecordsUrl"]))[0]["body"]

    assert [r["Id"] for r in more["records"]] == [r["Id"] for r in pages["all"]["records"]][300:600]
    stats = fresh_org.control("GET", "/__emulator__/stats").json()["by_endpoint"]
    assert stats["POST composite"] == 3
    assert "GET query" not in stats


def test_composite_query_errors_answer_in_their_subrequest(sf: Salesforce) -> None:
    base = f"/services/data/v{sf.sf_version}"
    answers = composite_answers(
        sf,
        query_sub("bad", f"{base}/query/?q=SELECT+Nope+FROM+Lead"),
        query_sub("gone", f"{base}/query/01g000000000000AAA-2000"),
        query_sub("good", f"{base}/query/?q=SELECT+Id+FROM+Lead"),
    )

    assert [a["httpStatusCode"] for a in answers] == [400, 400, 200]
    assert answers[0]["body"][0]["errorCode"] == "INVALID_FIELD"
    assert answers[1]["body"][0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_composite_counts_queries_against_the_five_subrequest_limit(sf: Salesforce) -> None:
    base = f"/services/data/v{sf.sf_version}"
    body = composite_of(3, 1)
    body["compositeRequest"] += [
        query_sub(f"q{n}", f"{base}/query/?q=SELECT+Id+FROM+Lead") for n in range(3)
    ]

    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.restful("composite", method="POST", json=body)

    assert refused.value.content[0]["errorCode"] == "LIMIT_EXCEEDED"
