"""The daily API request limit (``--api-limit``) over a rolling 24 hours, and the API versions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceRefusedRequest

from sf_emulator.stats import ApiUsage
from sf_emulator.testing import running_emulator
from tests.emulator.conftest import client_for, jwt_login

pytestmark = pytest.mark.integration


def test_configured_daily_limit_is_counted_and_enforced(tmp_path: Path):
    with running_emulator(tmp_path / "org", api_limit=4) as emulator:
        sf = client_for(jwt_login(emulator), emulator.connection_env["SF_CA_BUNDLE"])
        base = sf.base_url.split("/services/")[0]

        # When four data calls use up the allowance
        headers = []
        for _ in range(4):
            response = sf.session.get(base + "/services/data/v59.0/limits/", headers=sf.headers)
            assert response.status_code == 200
            headers.append(response.headers["Sforce-Limit-Info"])

        # Then the header counted them and the fifth call is refused like Salesforce does
        assert headers == [f"api-usage={n}/4" for n in range(1, 5)]
        with pytest.raises(SalesforceRefusedRequest) as refused:
            sf.query("SELECT Id FROM Lead")
        assert refused.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
        usage = emulator.control("GET", "/__emulator__/stats").json()["api_usage"]
        assert usage == {"used": 4, "limit": 4}


def test_usage_rolls_off_after_twenty_four_hours():
    now = [dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)]
    usage = ApiUsage(limit=2, clock=lambda: now[0])
    assert usage.try_consume() and usage.try_consume()
    assert not usage.try_consume()

    now[0] += dt.timedelta(hours=23)
    assert not usage.try_consume()
    now[0] += dt.timedelta(hours=1, minutes=1)
    assert usage.try_consume() and usage.header() == "api-usage=1/2"


@pytest.mark.parametrize(
    ("version", "status"), [("54.0", 404), ("55.0", 200), ("62.0", 200), ("63.0", 404)]
)
def test_api_versions_55_to_62_are_served(sf: Salesforce, version: str, status: int):
    base = sf.base_url.split("/services/")[0]
    response = sf.session.get(f"{base}/services/data/v{version}/limits/", headers=sf.headers)

    assert response.status_code == status
    if status == 404:
        assert response.json()[0]["errorCode"] == "NOT_FOUND"
