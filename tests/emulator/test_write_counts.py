"""Write counts per record and field (GET /__emulator__/writes/<SObject>): same-value writes
count, unlike the field history, so a test can prove a field was written exactly once."""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce

from sf_emulator.testing import EmulatorProcess, running_emulator
from tests.emulator.conftest import client_for, jwt_login

pytestmark = pytest.mark.integration
INTEGRATION_USER = "0055f000000001cAAA"
OTHER_REP = "0055f0000000006AAA"
QUEUE = "00G5f0000000001EAA"
LEAD = {"LastName": "Byron", "Company": "Engines"}


def owner_writes(emulator: EmulatorProcess, **query: str) -> dict[str, int]:
    params = "&".join(f"{name}={value}" for name, value in {"field": "OwnerId", **query}.items())
    response = emulator.control("GET", f"/__emulator__/writes/Lead?{params}")
    assert response.status_code == 200, response.text
    return response.json()


def test_a_repeated_write_of_the_same_value_is_counted(
    fresh_org: EmulatorProcess, sf: Salesforce
) -> None:
    written, untouched = sf.Lead.create(LEAD)["id"], sf.Lead.create(LEAD)["id"]

    sf.Lead.update(written, {"OwnerId": QUEUE})
    sf.Lead.update(written, {"ownerid": QUEUE})
    fresh_org.control(
        "PATCH",
        f"/__emulator__/records/Lead/{written}",
        json={"OwnerId": QUEUE, "_user_id": OTHER_REP},
    )

    history = fresh_org.control("GET", f"/__emulator__/history/Lead/{written}").json()
    assert [h["field"] for h in history] == ["created", "OwnerId"]
    assert owner_writes(fresh_org, user_id=INTEGRATION_USER) == {written: 2}
    assert owner_writes(fresh_org, user_id=OTHER_REP) == {written: 1}
    assert owner_writes(fresh_org) == {written: 3}
    assert untouched not in owner_writes(fresh_org)


def test_fields_given_on_create_count_as_written(
    fresh_org: EmulatorProcess, sf: Salesforce
) -> None:
    lead_id = sf.Lead.create({**LEAD, "OwnerId": QUEUE})["id"]

    response = fresh_org.control("GET", "/__emulator__/writes/Lead?field=Company")

    assert response.json() == {lead_id: 1}
    assert owner_writes(fresh_org) == {lead_id: 1}


def test_an_unknown_field_is_refused(fresh_org: EmulatorProcess) -> None:
    response = fresh_org.control("GET", "/__emulator__/writes/Lead?field=Nope__c")

    assert response.status_code == 400
    assert "field must name a field of Lead" in response.json()["error"]


def test_write_counts_survive_a_restart_and_go_with_a_reset(tmp_path) -> None:
    with running_emulator(tmp_path / "org") as emulator:
        sf = client_for(jwt_login(emulator), str(emulator.ca_bundle))
        lead_id = sf.Lead.create(LEAD)["id"]
        sf.Lead.update(lead_id, {"OwnerId": QUEUE})

        emulator.restart()
        after_restart = owner_writes(emulator)
        emulator.control("POST", "/__emulator__/reset")

        assert after_restart == {lead_id: 1}
        assert owner_writes(emulator) == {}
