"""Agreement and accuracy: Cohen's kappa between reviewers, model-vs-human accuracy."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from flywheel.agreement import cohen_kappa
from flywheel.selectors import accuracy_by_decider, decision_next_for_review, reviewer_kappa
from flywheel.services import label_record

# The textbook example: 50 items; both "yes" 20, A yes/B no 5, A no/B yes 10, both "no" 15.
# Observed agreement 0.7, chance agreement 0.5, kappa 0.4.
TEXTBOOK = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10 + [("no", "no")] * 15


def test_cohen_kappa_on_the_textbook_example():
    kappa = cohen_kappa(TEXTBOOK)

    assert kappa.items == 50
    assert kappa.observed == pytest.approx(0.7)
    assert kappa.expected == pytest.approx(0.5)
    assert kappa.kappa == pytest.approx(0.4)


def test_kappa_is_undefined_without_items_or_variety():
    assert cohen_kappa([]).kappa is None
    assert cohen_kappa([("yes", "yes")] * 3).kappa is None


@pytest.mark.django_db
def test_reviewer_kappa_from_labels_uses_each_reviewers_newest_verdict(decide_case):
    ana = User.objects.create_user("ana")
    ben = User.objects.create_user("ben")
    verdict = {"yes": "correct", "no": "incorrect"}
    for n, (a, b) in enumerate(TEXTBOOK):
        decision_id = decide_case(subject_id=f"00Q00000000{n:04d}AAA").decision_id
        if n == 0:  # ana first said the opposite, then changed her mind
            label_record(decision_id=decision_id, verdict="incorrect", reviewer=ana)
        label_record(decision_id=decision_id, verdict=verdict[a], reviewer=ana)
        label_record(decision_id=decision_id, verdict=verdict[b], reviewer=ben)
    only_ana = decide_case(subject_id="00Q000000000999AAA").decision_id
    label_record(decision_id=only_ana, verdict="correct", reviewer=ana)

    kappa = reviewer_kappa(reviewer_a=ana, reviewer_b=ben)

    assert kappa.items == 50
    assert kappa.kappa == pytest.approx(0.4)


@pytest.mark.django_db
def test_accuracy_by_decider_counts_the_label_in_force(decide_case):
    reviewer = User.objects.create_user("ana")
    right = decide_case(subject_id="00Q000000000001AAA").decision_id
    overruled = decide_case(subject_id="00Q000000000002AAA").decision_id
    wrong = decide_case(subject_id="00Q000000000003AAA").decision_id
    decide_case(subject_id="00Q000000000004AAA")  # unlabeled: not counted
    label_record(decision_id=right, verdict="correct", reviewer=reviewer)
    label_record(decision_id=overruled, verdict="incorrect", source="implicit")
    label_record(decision_id=overruled, verdict="correct", reviewer=reviewer)
    label_record(decision_id=wrong, verdict="incorrect", source="implicit")

    (row,) = accuracy_by_decider(workload="routing")
    (implicit,) = accuracy_by_decider(source="implicit")

    assert (row.decider, row.labeled, row.correct) == ("rules", 3, 2)
    assert row.accuracy == pytest.approx(2 / 3)
    assert (implicit.labeled, implicit.correct) == (2, 0)


@pytest.mark.django_db
def test_next_for_review_prefers_unlabeled_then_newest(decide_case):
    ana = User.objects.create_user("ana")
    ben = User.objects.create_user("ben")
    oldest = decide_case(subject_id="00Q000000000001AAA").decision_id
    labeled_by_ben = decide_case(subject_id="00Q000000000002AAA").decision_id
    newest = decide_case(subject_id="00Q000000000003AAA").decision_id
    label_record(decision_id=labeled_by_ben, verdict="correct", reviewer=ben)
    label_record(decision_id=newest, verdict="correct", reviewer=ana)

    first = decision_next_for_review(reviewer=ana)
    second = decision_next_for_review(reviewer=ana, after=first)

    assert (first.pk, second.pk) == (oldest, labeled_by_ben)
