"""The emulator's Change Data Capture selection: what the Tooling API reports is what streams."""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sf_emulator.testing import EmulatorProcess

SELECTION = "SELECT DeveloperName, SelectedEntity FROM PlatformEventChannelMember"


def stream(org: EmulatorProcess, **faults: object):
    return org.control("POST", "/__emulator__/stream", json=faults)


def selected(sf: Salesforce) -> list[tuple[str, str]]:
    reply = sf.toolingexecute("query/", params={"q": SELECTION})
    return [(r["DeveloperName"], r["SelectedEntity"]) for r in reply["records"]]


def test_a_new_org_selects_lead_task_and_email_message(sf: Salesforce):
    assert selected(sf) == [
        ("ChangeEvents_EmailMessageChangeEvent", "EmailMessageChangeEvent"),
        ("ChangeEvents_LeadChangeEvent", "LeadChangeEvent"),
        ("ChangeEvents_TaskChangeEvent", "TaskChangeEvent"),
    ]


def test_an_entity_taken_out_of_the_selection_publishes_no_events(
    fresh_org: EmulatorProcess, sf: Salesforce
):
    assert stream(fresh_org, selected_entities=["Task"]).json()["selected_entities"] == ["Task"]
    before = stream(fresh_org).json()["events_published"]

    sf.Lead.create({"LastName": "Unseen", "Company": "Acme"})
    sf.Task.create({"Subject": "Call", "Status": "Completed"})

    assert stream(fresh_org).json()["events_published"] == before + 1
    assert selected(sf) == [("ChangeEvents_TaskChangeEvent", "TaskChangeEvent")]


def test_clearing_the_faults_selects_everything_again(fresh_org: EmulatorProcess, sf: Salesforce):
    stream(fresh_org, selected_entities=[])

    stream(fresh_org, clear=True)

    assert len(selected(sf)) == 3


@pytest.mark.parametrize(
    ("value", "message"),
    [(["Account"], "no change events for Account"), ("Lead", "must be a list")],
)
def test_a_bad_selection_is_refused_with_the_reason(fresh_org: EmulatorProcess, value, message):
    response = stream(fresh_org, selected_entities=value)

    assert response.status_code == 400 and message in response.text


def test_other_tooling_objects_are_refused_like_salesforce_refuses_them(sf: Salesforce):
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.toolingexecute("query/", params={"q": "SELECT Id FROM ApexClass"})

    assert refused.value.content[0]["errorCode"] == "INVALID_TYPE"
