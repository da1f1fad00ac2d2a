"""A reviewer's corrected routing owner reaches the emulated org only after the confirm step."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from flywheel.gateway import Rules, decide
from flywheel.models import Decision, Label
from flywheel_site.roles import LABELERS, roles_sync
from routing.models import Assignment
from routing.prompt import OUTPUT_SCHEMA, PROMPT_VERSION

pytestmark = [pytest.mark.django_db, pytest.mark.integration]
INTEGRATION_USER = "0055f000000001cAAA"
ROUTED_TO = "0055f0000000001AAA"
CORRECT_OWNER = "0055f0000000002AAA"


@pytest.fixture
def routed_lead(sf_settings) -> tuple[str, int]:
    """A lead in the org owned by the rep routing chose, with its decision and ledger row."""
    lead_id = sf_settings.control(
        "POST",
        "/__emulator__/records/Lead",
        json={"LastName": "Doe", "Company": "Acme", "OwnerId": ROUTED_TO},
    ).json()["id"]
    output = {
        "segment": "SMB",
        "region": "NA",
        "reason": "12 employees, USA",
        "owner_id": ROUTED_TO,
        "pool": "SMB NA",
        "priority": False,
    }
    result = decide(
        workload="routing",
        subject_id=lead_id,
        context={"lead": {"Company": "Acme", "Id": lead_id}, "rules": {"segment": "SMB"}},
        messages=[{"role": "system", "content": "Route."}, {"role": "user", "content": "Acme"}],
        prompt_version=PROMPT_VERSION,
        output_schema=OUTPUT_SCHEMA,
        rules=lambda _context: Rules(output=output, confidence=0.6, explanation="rules"),
        use_llm=False,
    )
    Assignment.objects.create(
        lead_id=lead_id,
        decision_id=result.decision_id,
        segment="SMB",
        region="NA",
        pool="SMB NA",
        owner_id=ROUTED_TO,
        current_owner_id=ROUTED_TO,
        status="written",
    )
    return lead_id, result.decision_id


@pytest.fixture
def labeler_client(client):
    roles_sync()
    user = User.objects.create_user("lina", password="pw-12345-long", is_staff=True)
    user.groups.add(Group.objects.get(name=LABELERS))
    client.force_login(user)
    return client


def _owner_history(org, lead_id: str) -> list[dict]:
    history = org.control("GET", f"/__emulator__/history/Lead/{lead_id}").json()
    return [h for h in history if h["field"] == "OwnerId" and h["old"] is not None]


def test_confirmed_owner_correction_is_written_to_the_lead(
    sf_settings, routed_lead, labeler_client
):
    lead_id, decision_id = routed_lead
    review_url = reverse("admin:flywheel_decision_review", args=[decision_id])
    form = labeler_client.get(review_url).context["form"]
    data = {f"output-{name}": value for name, value in form.initial.items()}

    confirm = labeler_client.post(
        review_url, data | {"action": "correct", "output-owner_id": CORRECT_OWNER}, follow=True
    )
    before_confirm = _owner_history(sf_settings, lead_id)
    done = labeler_client.post(confirm.redirect_chain[-1][0], {"confirm": "1"}, follow=True)

    assert before_confirm == []
    assert Label.objects.get().corrected_output["owner_id"] == CORRECT_OWNER
    writes = _owner_history(sf_settings, lead_id)
    assert [(w["old"], w["new"], w["user_id"]) for w in writes] == [
        (ROUTED_TO, CORRECT_OWNER, INTEGRATION_USER)
    ]
    assert f"Owner {CORRECT_OWNER} written to the lead in Salesforce." in done.content.decode()
    assert Assignment.objects.get().current_owner_id == CORRECT_OWNER
    assert Decision.objects.get().effect == {"owner_corrected": CORRECT_OWNER}
