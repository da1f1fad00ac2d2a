"""Labels: verdicts and corrections validated against the schema, implicit labels from owner
changes in Salesforce, bulk accept of high-confidence decisions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils import timezone

from flywheel.models import Label
from flywheel.services import decisions_accept, label_record
from routing.models import Assignment
from routing.prompt import OUTPUT_SCHEMA as ROUTING_SCHEMA
from routing.services.owners import owner_changes_record
from salesforce.models import ChangeEvent
from tests.flywheel.conftest import RULES_OUTPUT, Rules

pytestmark = pytest.mark.django_db
LEAD = "00Q000000000001AAA"
ROUTED_TO = "0055f0000000001AAA"
HUMAN_PICK = "0055f0000000002AAA"
SALES_MANAGER = "0055f0000000004AAA"


@pytest.fixture(autouse=True)
def _integration_user(settings) -> None:
    settings.SF_INTEGRATION_USER_ID = "0055f000000001cAAA"


def test_correction_breaking_the_schema_is_refused_and_not_stored(decide_case):
    decision_id = decide_case().decision_id

    with pytest.raises(ValidationError) as refused:
        label_record(
            decision_id=decision_id,
            verdict="incorrect",
            corrected_output={"segment": "HUGE", "reason": "x"},
        )

    assert "'HUGE' is not one of" in str(refused.value.message_dict["corrected_output"])
    assert not Label.objects.exists()


@pytest.mark.parametrize(
    ("verdict", "corrected", "field"),
    [
        ("correct", {"segment": "MM", "reason": "x"}, "corrected_output"),
        ("maybe", None, "verdict"),
    ],
)
def test_inconsistent_labels_are_refused(decide_case, verdict, corrected, field):
    decision_id = decide_case().decision_id

    with pytest.raises(ValidationError) as refused:
        label_record(decision_id=decision_id, verdict=verdict, corrected_output=corrected)

    assert field in refused.value.message_dict
    assert not Label.objects.exists()


def test_several_reviewers_may_label_one_decision(decide_case):
    decision_id = decide_case().decision_id
    ana, ben = User.objects.create_user("ana"), User.objects.create_user("ben")

    label_record(decision_id=decision_id, verdict="correct", reviewer=ana)
    label_record(
        decision_id=decision_id,
        verdict="incorrect",
        corrected_output={"segment": "MM", "reason": "300 staff"},
        reviewer=ben,
    )

    assert sorted(Label.objects.values_list("reviewer__username", "verdict")) == [
        ("ana", "correct"),
        ("ben", "incorrect"),
    ]


def _owner_change(owner_id: str, *, by: str) -> ChangeEvent:
    return ChangeEvent.objects.create(
        entity="Lead",
        change_type="UPDATE",
        record_id=LEAD,
        fields={"OwnerId": owner_id},
        changed_fields=["OwnerId"],
        commit_timestamp=timezone.now(),
        commit_user=by,
    )


def _routed(_context: dict) -> Rules:
    output = {"segment": "SMB", "region": "NA", "reason": "12 staff, USA", "owner_id": ROUTED_TO}
    return Rules(output=output, confidence=0.9, explanation="rules")


def test_a_human_owner_change_labels_the_routing_decision_implicitly(decide_case):
    decision_id = decide_case(
        subject_id=LEAD, output_schema=ROUTING_SCHEMA, rules=_routed
    ).decision_id
    Assignment.objects.create(
        lead_id=LEAD,
        decision_id=decision_id,
        segment="SMB",
        region="NA",
        pool="SMB NA",
        owner_id=ROUTED_TO,
        current_owner_id=ROUTED_TO,
        status="written",
    )
    change = _owner_change(HUMAN_PICK, by=SALES_MANAGER)

    owner_changes_record(events=[change])
    owner_changes_record(events=[change])  # re-delivered: no second label

    label = Label.objects.get()
    assert (label.decision_id, label.verdict, label.source, label.reviewer) == (
        decision_id,
        "incorrect",
        "implicit",
        None,
    )
    assert label.corrected_output["owner_id"] == HUMAN_PICK


def test_the_integration_users_own_owner_write_is_no_label(decide_case):
    decision_id = decide_case(subject_id=LEAD).decision_id
    Assignment.objects.create(
        lead_id=LEAD, decision_id=decision_id, owner_id=ROUTED_TO, status="pending"
    )

    owner_changes_record(events=[_owner_change(ROUTED_TO, by="0055f000000001cAAA")])

    assert not Label.objects.exists()


def _confident(confidence: float):
    return lambda _c: Rules(output=dict(RULES_OUTPUT), confidence=confidence, explanation="")


def test_bulk_accept_refuses_low_confidence_and_error_decisions(decide_case):
    reviewer = User.objects.create_user("ana")
    high = decide_case(rules=_confident(0.9)).decision_id
    low = decide_case(rules=_confident(0.89)).decision_id
    error = decide_case(
        rules=lambda _c: Rules(output={"segment": "HUGE"}, confidence=1, explanation="")
    ).decision_id

    result = decisions_accept(
        decision_ids=[high, low, error], reviewer=reviewer, min_confidence=0.9
    )
    again = decisions_accept(decision_ids=[high], reviewer=reviewer, min_confidence=0.9)

    assert (result.accepted, result.too_low, result.already) == (1, 2, 0)
    assert (again.accepted, again.already) == (0, 1)
    assert list(Label.objects.values_list("decision_id", "verdict", "source")) == [
        (high, "correct", "human")
    ]
