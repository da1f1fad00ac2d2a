"""Bad input of any shape gets a Salesforce-shaped 4xx, never a 500."""

from __future__ import annotations

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simple_salesforce import Salesforce

pytestmark = pytest.mark.integration
FIELD_NAMES = st.sampled_from(
    [
        "LastName",
        "Company",
        "NumberOfEmployees",
        "OwnerId",
        "CreatedDate",
        "IsConverted",
        "First_Response_At__c",
        "Time_to_First_Response__c",
        "Status",
        "Id",
        "Bogus",
        "attributes",
    ]
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=5,
)
PATHS = st.sampled_from(
    ["sobjects/Lead/", "sobjects/Task/", "composite/sobjects", "actions/standard/emailSimple"]
)
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def send(sf: Salesforce, method: str, path: str, **kwargs: object) -> requests.Response:
    return sf.session.request(method, sf.base_url + path, headers=sf.headers, **kwargs)


def assert_salesforce_error_or_success(response: requests.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body, list) and body
        assert "errorCode" in body[0] or "errors" in body[0]


@SETTINGS
@given(fields=st.dictionaries(FIELD_NAMES, JSON_VALUES, max_size=6))
def test_any_lead_body_is_handled(sf: Salesforce, fields: dict) -> None:
    assert_salesforce_error_or_success(send(sf, "POST", "sobjects/Lead/", json=fields))


@SETTINGS
@given(path=PATHS, body=JSON_VALUES)
def test_any_json_on_any_write_endpoint_is_handled(sf: Salesforce, path: str, body: object) -> None:
    assert_salesforce_error_or_success(send(sf, "POST", path, json=body))


@SETTINGS
@given(
    raw=st.binary(max_size=60),
    record_id=st.text(min_size=1, max_size=20).filter(
        lambda t: "/" not in t and "?" not in t and "#" not in t
    ),
)
def test_garbage_bytes_and_ids_are_handled(sf: Salesforce, raw: bytes, record_id: str) -> None:
    assert_salesforce_error_or_success(send(sf, "POST", "sobjects/Lead/", data=raw))
    assert_salesforce_error_or_success(send(sf, "PATCH", f"sobjects/Lead/{record_id}", data=raw))
    assert_salesforce_error_or_success(send(sf, "DELETE", f"composite/sobjects?ids={record_id}"))
