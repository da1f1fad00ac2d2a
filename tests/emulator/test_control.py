"""The control API: human writes, history, stats, faults, reset, loopback guard, restarts."""

from __future__ import annotations

import time
from unittest import mock

import pytest
import requests
from aiohttp.test_utils import make_mocked_request
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceGeneralError

from sf_emulator import control
from sf_emulator.testing import EmulatorProcess, running_emulator
from tests.emulator.conftest import client_for, jwt_login

pytestmark = pytest.mark.integration
SALES_REP = "0055f0000000001AAA"
OTHER_REP = "0055f0000000006AAA"
INTEGRATION_USER = "0055f000000001cAAA"
QUEUE = "00G5f0000000001EAA"
LEAD = {"LastName": "Byron", "Company": "Engines"}


def test_records_created_and_updated_as_humans_carry_their_user(fresh_org: EmulatorProcess) -> None:
    created = fresh_org.control(
        "POST", "/__emulator__/records/Lead", json={**LEAD, "OwnerId": QUEUE}
    )
    lead_id = created.json()["id"]

    fresh_org.control(
        "PATCH",
        f"/__emulator__/records/Lead/{lead_id}",
        json={"OwnerId": OTHER_REP, "_user_id": OTHER_REP},
    )

    record = fresh_org.control("GET", f"/__emulator__/records/Lead/{lead_id}").json()
    history = fresh_org.control("GET", f"/__emulator__/history/Lead/{lead_id}").json()
    assert created.status_code == 201
    assert record["CreatedById"] == SALES_REP and record["LastModifiedById"] == OTHER_REP
    assert [(h["field"], h["old"], h["new"], h["user_id"]) for h in history] == [
        ("created", None, None, SALES_REP),
        ("OwnerId", QUEUE, OTHER_REP, OTHER_REP),
    ]


def test_control_writes_may_set_system_fields_for_history(fresh_org: EmulatorProcess) -> None:
    body = {**LEAD, "CreatedDate": "2025-06-01T10:00:00.000+0000"}

    lead_id = fresh_org.control("POST", "/__emulator__/records/Lead", json=body).json()["id"]

    record = fresh_org.control("GET", f"/__emulator__/records/Lead/{lead_id}").json()
    assert record["CreatedDate"] == "2025-06-01T10:00:00.000+0000"


def test_bulk_create_and_bad_control_input(fresh_org: EmulatorProcess) -> None:
    bulk = fresh_org.control(
        "POST", "/__emulator__/records/Task", json=[{"Subject": "a"}, {"Subject": "b"}]
    )
    unknown = fresh_org.control("POST", "/__emulator__/records/Nope", json=LEAD)
    bad_user = fresh_org.control(
        "POST", "/__emulator__/records/Lead", json={**LEAD, "_user_id": "x"}
    )
    invalid = fresh_org.control("POST", "/__emulator__/records/Lead", json={"LastName": "x"})

    assert len(bulk.json()["ids"]) == 2
    assert unknown.status_code == 404 and bad_user.status_code == 400
    assert invalid.status_code == 400 and invalid.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"


def test_stats_count_calls_by_endpoint_and_user(sf: Salesforce, fresh_org: EmulatorProcess) -> None:
    sf.Lead.create(LEAD)
    sf.limits()

    stats = fresh_org.control("GET", "/__emulator__/stats").json()

    assert stats["by_endpoint"]["POST sobjects"] == 1 and stats["by_endpoint"]["GET limits"] == 1
    assert stats["by_endpoint"]["POST oauth"] == 1
    assert stats["by_user"][INTEGRATION_USER] == 3
    assert stats["api_usage"]["used"] == 2
    assert stats["records"]["Lead"] == 1 and stats["records"]["User"] == 21


def test_error_faults_fail_the_chosen_endpoints(sf: Salesforce, fresh_org: EmulatorProcess) -> None:
    fresh_org.control(
        "POST", "/__emulator__/faults", json={"errors": {"sobjects": {"rate": 1.0, "status": 503}}}
    )

    with pytest.raises(SalesforceGeneralError) as caught:
        sf.Lead.create(LEAD)
    limits = sf.limits()

    assert caught.value.status == 503
    assert caught.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert limits["DailyApiRequests"]["Max"] > 0


def test_server_errors_and_bad_fault_settings(sf: Salesforce, fresh_org: EmulatorProcess) -> None:
    bad = fresh_org.control(
        "POST", "/__emulator__/faults", json={"errors": {"nowhere": {"rate": 1}}}
    )
    fresh_org.control(
        "POST", "/__emulator__/faults", json={"errors": {"rest": {"rate": 1.0, "status": 500}}}
    )

    with pytest.raises(SalesforceGeneralError) as caught:
        sf.limits()

    assert bad.status_code == 400
    assert (
        caught.value.status == 500 and caught.value.content[0]["errorCode"] == "UNKNOWN_EXCEPTION"
    )


def test_latency_fault_slows_calls(sf: Salesforce, fresh_org: EmulatorProcess) -> None:
    fresh_org.control(
        "POST", "/__emulator__/faults", json={"latency_ms": {"fixed": 300, "jitter": 50}}
    )

    started = time.monotonic()
    sf.limits()

    assert 0.3 <= time.monotonic() - started < 2.0


def test_dropped_connections_surface_as_connection_errors(
    sf: Salesforce, fresh_org: EmulatorProcess
) -> None:
    fresh_org.control("POST", "/__emulator__/faults", json={"drop_rate": {"limits": 1.0}})

    with pytest.raises(requests.exceptions.ConnectionError):
        sf.limits()
    fresh_org.control("POST", "/__emulator__/faults", json={"clear": True})
    assert sf.limits()["DailyApiRequests"]["Max"] > 0


def test_reset_empties_the_org_but_keeps_users_and_queues(
    sf: Salesforce, fresh_org: EmulatorProcess
) -> None:
    sf.Lead.create(LEAD)

    fresh_org.control("POST", "/__emulator__/reset")

    records = fresh_org.control("GET", "/__emulator__/stats").json()["records"]
    assert records["Lead"] == 0 and records["User"] == 21 and records["Group"] == 7


def test_control_api_refuses_non_loopback_peers() -> None:
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        ("10.1.2.3", 5555) if name == "peername" else default
    )
    request = make_mocked_request("POST", "/__emulator__/reset", transport=transport)
    handler = mock.AsyncMock()

    import asyncio

    response = asyncio.run(control.loopback_only(request, handler))

    assert response.status == 403
    handler.assert_not_called()


def test_org_data_and_sessions_survive_a_restart(tmp_path) -> None:
    with running_emulator(tmp_path / "org") as emulator:
        token = jwt_login(emulator)
        sf = client_for(token, str(emulator.ca_bundle))
        lead_id = sf.Lead.create(LEAD)["id"]
        sf.Lead.update(lead_id, {"OwnerId": QUEUE})

        emulator.restart()

        again = client_for(token, str(emulator.ca_bundle))
        assert again.Lead.get(lead_id)["OwnerId"] == QUEUE
        history = emulator.control("GET", f"/__emulator__/history/Lead/{lead_id}").json()
        assert [h["field"] for h in history] == ["created", "OwnerId"]
        assert again.Lead.create(LEAD)["id"] != lead_id
