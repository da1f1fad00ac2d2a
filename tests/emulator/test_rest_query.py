"""query/ and queryAll/ through simple-salesforce: paging, batch sizes, errors, relationships."""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sf_emulator.testing import EmulatorProcess

pytestmark = pytest.mark.integration
QUEUE = "00G5f0000000001EAA"
INTEGRATION_USER = "0055f000000001cAAA"


def seed_leads(emulator: EmulatorProcess, count: int) -> list[str]:
    body = [
        {"LastName": f"L{n:05d}", "Company": f"C{n % 7}", "NumberOfEmployees": n}
        for n in range(count)
    ]
    response = emulator.control("POST", "/__emulator__/records/Lead", json=body)
    assert response.status_code == 201
    return response.json()["ids"]


def test_five_thousand_records_page_in_batches_of_two_thousand(
    sf: Salesforce, fresh_org: EmulatorProcess
) -> None:
    ids = seed_leads(fresh_org, 5000)

    first = sf.query("SELECT Id, LastName FROM Lead ORDER BY LastName")
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    everything = sf.query_all("SELECT Id FROM Lead")

    assert first["totalSize"] == 5000 and first["done"] is False and len(first["records"]) == 2000
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    assert first["nextRecordsUrl"].endswith("-2000")
    assert second["records"][0]["LastName"] == "L02000"
    assert everything["totalSize"] == 5000 and everything["done"] is True
    assert sorted(r["Id"] for r in everything["records"]) == sorted(ids)


def test_batch_size_header_is_honoured_within_salesforce_bounds(
    sf: Salesforce, fresh_org: EmulatorProcess
) -> None:
    seed_leads(fresh_org, 450)

    small = sf.query("SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=200"})
    tiny = sf.query("SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=5"})

    assert len(small["records"]) == 200 and small["nextRecordsUrl"].endswith("-200")
    assert len(tiny["records"]) == 200


def test_count_where_and_relationship_fields(sf: Salesforce, fresh_org: EmulatorProcess) -> None:
    seed_leads(fresh_org, 30)
    lead_id = sf.Lead.create({"LastName": "Q", "Company": "Queue Co", "OwnerId": QUEUE})["id"]

    count = sf.query("SELECT COUNT() FROM Lead WHERE NumberOfEmployees >= 10")
    owned = sf.query(f"SELECT Id, Owner.Name, CreatedBy.Name FROM Lead WHERE Id = '{lead_id}'")

    assert count["totalSize"] == 20 and count["records"] == []
    record = owned["records"][0]
    assert record["Owner"]["Name"] == "NA Inbound"
    assert record["CreatedBy"]["Name"] == "Flywheel Integration"


def test_query_all_includes_deleted_records(sf: Salesforce, fresh_org: EmulatorProcess) -> None:
    lead_id = sf.Lead.create({"LastName": "Gone", "Company": "C"})["id"]
    sf.Lead.delete(lead_id)

    live = sf.query("SELECT Id FROM Lead")
    everything = sf.query_all("SELECT Id, IsDeleted FROM Lead", include_deleted=True)

    assert live["totalSize"] == 0
    assert [(r["Id"], r["IsDeleted"]) for r in everything["records"]] == [(lead_id, True)]


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Id FROM", "MALFORMED_QUERY"),
        ("SELEKT Id FROM Lead", "MALFORMED_QUERY"),
        ("SELECT Nope__c FROM Lead", "INVALID_FIELD"),
        ("SELECT Id FROM Account", "INVALID_TYPE"),
    ],
)
def test_bad_queries_are_salesforce_errors(sf: Salesforce, soql: str, code: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query(soql)

    assert caught.value.content[0]["errorCode"] == code


def test_unknown_query_locator_is_refused(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query_more("01g000000000000AAA-2000")

    assert caught.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_sent_email_is_queryable_with_its_lead_link(
    sf: Salesforce, fresh_org: EmulatorProcess
) -> None:
    lead_id = sf.Lead.create({"LastName": "Byron", "Company": "Engines"})["id"]
    sf.restful(
        "actions/standard/emailSimple",
        method="POST",
        json={
            "inputs": [
                {
                    "emailAddresses": "ada@engines.test",
                    "emailSubject": "Hi",
                    "emailBody": "Hello",
                    "relatedRecordId": lead_id,
                }
            ]
        },
    )

    emails = sf.query(
        "SELECT Id, Status, Incoming, FromAddress, ToAddress, Subject, CreatedById FROM EmailMessage "
        f"WHERE Id IN (SELECT EmailMessageId FROM EmailMessageRelation WHERE RelationId = '{lead_id}')"
    )["records"]

    assert len(emails) == 1
    email = emails[0]
    assert (email["Status"], email["Incoming"], email["Subject"]) == ("3", False, "Hi")
    assert email["FromAddress"] == "integration@flywheel.demo"
    assert email["ToAddress"] == "ada@engines.test" and email["CreatedById"] == INTEGRATION_USER
