"""sObject REST through the real simple-salesforce client: CRUD, describe, limits, errors."""

from __future__ import annotations

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from sf_emulator.ids import to_18
from sf_emulator.testing import EmulatorProcess

pytestmark = pytest.mark.integration
INTEGRATION_USER = "0055f000000001cAAA"
QUEUE = "00G5f0000000001EAA"
LEAD = {"FirstName": "Ada", "LastName": "Byron", "Company": "Engines Ltd", "Country": "UK"}


def error_code(caught: pytest.ExceptionInfo) -> str:
    return caught.value.content[0]["errorCode"]


def raw(sf: Salesforce, method: str, path: str, **kwargs: object) -> requests.Response:
    """A request with the client's session but without simple-salesforce's error mapping."""
    return sf.session.request(method, sf.base_url + path, headers=sf.headers, **kwargs)


def test_lead_create_get_update_delete(sf: Salesforce, fresh_org: EmulatorProcess) -> None:
    created = sf.Lead.create({**LEAD, "NumberOfEmployees": 250})
    lead_id = created["id"]

    fetched = sf.Lead.get(lead_id)
    status = sf.Lead.update(lead_id, {"OwnerId": QUEUE, "Status": "Working - Contacted"})
    updated = sf.Lead.get(lead_id)
    deleted = sf.Lead.delete(lead_id)

    assert created == {"id": lead_id, "success": True, "errors": []}
    assert fetched["attributes"] == {
        "type": "Lead",
        "url": f"/services/data/v59.0/sobjects/Lead/{lead_id}",
    }
    assert fetched["Name"] == "Ada Byron" and fetched["NumberOfEmployees"] == 250
    assert fetched["CreatedById"] == INTEGRATION_USER
    assert fetched["CreatedDate"].endswith("+0000") and fetched["IsConverted"] is False
    assert (status, deleted) == (204, 204)
    assert updated["OwnerId"] == QUEUE and updated["LastModifiedById"] == INTEGRATION_USER
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Lead.get(lead_id)
    assert error_code(caught) == "ENTITY_IS_DELETED"


def test_get_with_fields_parameter_returns_only_those(sf: Salesforce) -> None:
    lead_id = sf.Lead.create(LEAD)["id"]

    record = raw(sf, "GET", f"sobjects/Lead/{lead_id}", params={"fields": "Company,ownerid"}).json()

    assert set(record) == {"attributes", "Company", "OwnerId"}


def test_call_options_client_and_acting_user_land_in_field_history(
    sf: Salesforce, fresh_org: EmulatorProcess
) -> None:
    lead_id = sf.Lead.create(LEAD)["id"]

    sf.Lead.update(
        lead_id,
        {"OwnerId": QUEUE},
        headers={"Sforce-Call-Options": "client=flywheel-router", "Sforce-Auto-Assign": "FALSE"},
    )

    history = fresh_org.control("GET", f"/__emulator__/history/Lead/{lead_id}").json()
    assert [(h["field"], h["new"], h["user_id"], h["client"]) for h in history] == [
        ("created", None, INTEGRATION_USER, None),
        ("OwnerId", QUEUE, INTEGRATION_USER, "flywheel-router"),
    ]


def test_every_response_carries_the_limit_header_and_counts_calls(sf: Salesforce) -> None:
    first = raw(sf, "GET", "limits/")
    failed = raw(sf, "GET", "sobjects/Nope/describe")
    third = raw(sf, "GET", "limits/")

    assert first.headers["Sforce-Limit-Info"] == "api-usage=1/1000000"
    assert failed.headers["Sforce-Limit-Info"] == "api-usage=2/1000000"
    assert third.json()["DailyApiRequests"] == {"Max": 1000000, "Remaining": 999997}


def test_describe_lists_standard_and_custom_fields(sf: Salesforce) -> None:
    describe = sf.Lead.describe()
    fields = {field["name"]: field for field in describe["fields"]}

    assert describe["keyPrefix"] == "00Q" and describe["name"] == "Lead"
    assert (
        fields["First_Response_At__c"]["type"] == "datetime"
        and fields["First_Response_At__c"]["custom"]
    )
    assert fields["OwnerId"]["referenceTo"] == ["Group", "User"]
    assert fields["CreatedDate"]["createable"] is False
    assert "Working - Contacted" in [p["value"] for p in fields["Status"]["picklistValues"]]
    assert {s["name"] for s in sf.describe()["sobjects"]} >= {"Lead", "Task", "EmailMessage"}


@pytest.mark.parametrize(
    ("fields", "code", "error_fields"),
    [
        ({"FirstName": "Only"}, "REQUIRED_FIELD_MISSING", ["LastName", "Company"]),
        (
            {**LEAD, "CreatedDate": "2024-01-01T00:00:00Z"},
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            ["CreatedDate"],
        ),
        ({**LEAD, "Bogus__c": "x"}, "INVALID_FIELD", []),
        ({**LEAD, "OwnerId": "005000000000000AAA"}, "INVALID_CROSS_REFERENCE_KEY", ["OwnerId"]),
        ({**LEAD, "OwnerId": "garbage"}, "MALFORMED_ID", ["OwnerId"]),
        ({**LEAD, "NumberOfEmployees": "lots"}, "JSON_PARSER_ERROR", ["NumberOfEmployees"]),
        ({**LEAD, "Company": "x" * 300}, "STRING_TOO_LONG", ["Company"]),
    ],
)
def test_invalid_writes_raise_malformed_request_with_salesforce_errors(
    sf: Salesforce, fields: dict, code: str, error_fields: list[str]
) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Lead.create(fields)

    assert caught.value.content == [
        {"message": caught.value.content[0]["message"], "errorCode": code, "fields": error_fields}
    ]


def test_bad_ids_and_unknown_objects(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as malformed:
        sf.Lead.update("not-an-id", {"Company": "X"})
    with pytest.raises(SalesforceMalformedRequest) as wrong_type:
        sf.Lead.get(QUEUE)
    with pytest.raises(SalesforceResourceNotFound) as missing:
        sf.Lead.get(to_18("00Q000000000000"))
    with pytest.raises(SalesforceResourceNotFound) as unknown:
        sf.Account.create({"Name": "X"})

    assert error_code(malformed) == "MALFORMED_ID" == error_code(wrong_type)
    assert error_code(missing) == "NOT_FOUND" == error_code(unknown)


def test_malformed_bodies_are_json_parser_errors(sf: Salesforce) -> None:
    lead_id = sf.Lead.create(LEAD)["id"]

    broken = raw(sf, "POST", "sobjects/Lead/", data="{not json")
    empty = raw(sf, "PATCH", f"sobjects/Lead/{lead_id}", data="")
    array = raw(sf, "POST", "sobjects/Lead/", json=[LEAD])

    assert [r.status_code for r in (broken, empty, array)] == [400, 400, 400]
    assert {r.json()[0]["errorCode"] for r in (broken, empty, array)} == {"JSON_PARSER_ERROR"}


def test_unknown_versions_and_resources_are_404_and_versions_are_listed(sf: Salesforce) -> None:
    base = sf.base_url.split("/services/")[0]
    old = sf.session.get(base + "/services/data/v40.0/limits/", headers=sf.headers)
    nowhere = raw(sf, "GET", "nowhere/")
    versions = sf.session.get(base + "/services/data/").json()
    wrong_method = raw(sf, "PUT", "limits/")

    assert (old.status_code, old.json()[0]["errorCode"]) == (404, "NOT_FOUND")
    assert nowhere.status_code == 404 and nowhere.json()[0]["errorCode"] == "NOT_FOUND"
    assert [v["version"] for v in versions] == [f"{n}.0" for n in range(55, 63)]
    assert (
        wrong_method.status_code == 405
        and wrong_method.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"
    )


def test_missing_or_unknown_token_is_invalid_session(fresh_org: EmulatorProcess) -> None:
    url = fresh_org.url + "/services/data/v59.0/limits/"
    session = requests.Session()
    session.trust_env = False
    session.verify = str(fresh_org.ca_bundle)

    anonymous = session.get(url)
    unknown = session.get(url, headers={"Authorization": "Bearer 00Dnope"})

    for response in (anonymous, unknown):
        assert response.status_code == 401
        assert response.json() == [
            {
                "message": "Session expired or invalid",
                "errorCode": "INVALID_SESSION_ID",
                "fields": [],
            }
        ]


def test_daily_limit_exhausted_refuses_requests(sf: Salesforce, fresh_org: EmulatorProcess) -> None:
    fresh_org.control("POST", "/__emulator__/faults", json={"limit_exhausted": True})

    with pytest.raises(SalesforceRefusedRequest) as caught:
        sf.Lead.create(LEAD)

    assert caught.value.content[0] == {
        "message": "TotalRequests Limit exceeded.",
        "errorCode": "REQUEST_LIMIT_EXCEEDED",
        "fields": [],
    }
