"""The scheduled retrain trains when enough new labels arrived, into shadow only; every mode
change is audited as a decision of its own."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django_q.models import Schedule

from flywheel.choices import AUDIT_WORKLOAD
from flywheel.learning.retrain import models_retrain_due
from flywheel.learning.services import model_version_mode_set
from flywheel.models import Decision, ModelVersion
from flywheel.selectors import decision_next_for_review
from flywheel.tasks import retrain_models
from tests.flywheel import test_learning_helpers as helpers
from tests.flywheel.test_learning_helpers import templates_labelled

pytestmark = pytest.mark.django_db
_clean_serving = helpers._clean_serving
templates_loaded = helpers.templates_loaded


def outcome_for(workload: str):
    return next(o for o in models_retrain_due() if o.workload == workload)


def test_retrain_waits_for_enough_new_labels_then_trains_into_shadow(templates_loaded, settings):
    settings.FLYWHEEL_RETRAIN_NEW_LABELS, settings.FLYWHEEL_MIN_LABELS = 80, 50
    templates_labelled(templates_loaded)  # 72 labels: not enough new ones yet
    waiting = outcome_for("templates")
    templates_labelled(templates_loaded)  # 144

    trained = outcome_for("templates")
    again = outcome_for("templates")

    assert (waiting.version, waiting.since_last) == (None, 72)
    assert trained.version == 1 and trained.note == "in shadow"
    assert ModelVersion.objects.get(workload="templates").mode == "shadow"
    assert (again.version, again.since_last) == (None, 0)


def test_retrain_never_displaces_an_ab_test_people_started(templates_loaded, settings):
    settings.FLYWHEEL_RETRAIN_NEW_LABELS, settings.FLYWHEEL_MIN_LABELS = 50, 50
    templates_labelled(templates_loaded)
    first = outcome_for("templates")
    model_version_mode_set(version=ModelVersion.objects.get(version=first.version), mode="ab")
    templates_labelled(templates_loaded)

    second = outcome_for("templates")

    modes = dict(ModelVersion.objects.values_list("version", "mode"))
    assert modes == {1: "ab", 2: "off"} and "A/B" in second.note


def test_mode_changes_are_audited_as_decisions_and_not_queued_for_review(
    templates_loaded, settings
):
    settings.FLYWHEEL_RETRAIN_NEW_LABELS, settings.FLYWHEEL_MIN_LABELS = 50, 50
    templates_labelled(templates_loaded)
    retrain_models()  # automatic: off → shadow
    ops = User.objects.create_user("olga", password="pw-12345-long")
    model_version_mode_set(version=ModelVersion.objects.get(), mode="champion", actor=ops)

    audits = list(Decision.objects.filter(workload=AUDIT_WORKLOAD).order_by("id"))
    assert [(a.decider, a.output["from"], a.output["to"]) for a in audits] == [
        ("rules", "off", "shadow"),
        ("human", "shadow", "champion"),
    ]
    assert audits[1].explanation == "by olga"
    reviewer = User.objects.create_user("lea", password="pw-12345-long")
    assert decision_next_for_review(reviewer=reviewer, workload=AUDIT_WORKLOAD) is None


def test_retrain_is_scheduled_hourly_after_migrate():
    schedule = Schedule.objects.get(func="flywheel.tasks.retrain_models")

    assert (schedule.schedule_type, schedule.repeats) == ("H", -1)
