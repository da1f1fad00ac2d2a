"""Reads: the review queue, the next decision to review, labels in force, agreement, accuracy."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, OuterRef, QuerySet

from flywheel.agreement import Kappa, cohen_kappa
from flywheel.choices import AUDIT_WORKLOAD, LabelSource, Verdict
from flywheel.models import Decision, Label

CONFIDENCE_BANDS: dict[str, tuple[float, float]] = {
    "low": (0.0, 0.5),
    "medium": (0.5, 0.8),
    "high": (0.8, 1.01),
}


def review_queue(*, reviewer: AbstractBaseUser | None = None) -> QuerySet[Decision]:
    """Decisions with ``is_labeled`` (any label) and ``mine`` (labeled by ``reviewer``) flags,
    unlabeled first, newest first."""
    queryset = Decision.objects.annotate(
        is_labeled=Exists(Label.objects.filter(decision=OuterRef("pk")))
    )
    if reviewer is not None:
        queryset = queryset.annotate(
            mine=Exists(Label.objects.filter(decision=OuterRef("pk"), reviewer=reviewer))
        )
    return queryset.order_by("is_labeled", "-created_at", "-id")


def review_queue_filter(
    queryset: QuerySet[Decision],
    *,
    workload: str = "",
    status: str = "",
    decider: str = "",
    band: str = "",
) -> QuerySet[Decision]:
    if workload:
        queryset = queryset.filter(workload=workload)
    if status:
        queryset = queryset.filter(status=status)
    if decider:
        queryset = queryset.filter(decider=decider)
    if band in CONFIDENCE_BANDS:
        low, high = CONFIDENCE_BANDS[band]
        queryset = queryset.filter(confidence__gte=low, confidence__lt=high)
    return queryset


def decision_next_for_review(
    *,
    reviewer: AbstractBaseUser,
    after: Decision | None = None,
    workload: str = "",
    skipped: Collection[int] = (),
) -> Decision | None:
    """The next decision ``reviewer`` has not labeled: unlabeled ones first, newest first,
    leaving out ``after`` (the one just reviewed) and the ones the reviewer ``skipped``."""
    queryset = (
        review_queue_filter(review_queue(reviewer=reviewer), workload=workload)
        .filter(mine=False)
        .exclude(workload=AUDIT_WORKLOAD)  # an audit trail, not something to review
    )
    left_out = {*skipped, *([after.pk] if after is not None else [])}
    if left_out:
        queryset = queryset.exclude(pk__in=left_out)
    return queryset.first()


def workloads_list() -> list[str]:
    return list(Decision.objects.order_by().values_list("workload", flat=True).distinct())


def decision_latest_for_subject(*, workload: str, subject_id: str) -> Decision | None:
    """The newest decision of ``workload`` about a Salesforce record (for implicit labels)."""
    return (
        Decision.objects.filter(workload=workload, subject_id=subject_id)
        .order_by("-created_at", "-id")
        .first()
    )


def label_in_force(labels: list[Label]) -> Label | None:
    """The label that counts for a decision: the newest human one, else the newest implicit one."""
    for source in (LabelSource.HUMAN, LabelSource.IMPLICIT):
        mine = [label for label in labels if label.source == source]
        if mine:
            return max(mine, key=lambda label: (label.created_at, label.pk))
    return None


def reviewer_kappa(
    *, reviewer_a: AbstractBaseUser, reviewer_b: AbstractBaseUser, workload: str = ""
) -> Kappa:
    """Cohen's kappa on verdicts between two reviewers over the decisions both labeled
    (each reviewer's newest label per decision)."""
    labels = Label.objects.filter(
        reviewer__in=[reviewer_a, reviewer_b], source=LabelSource.HUMAN
    ).order_by("created_at", "id")
    if workload:
        labels = labels.filter(decision__workload=workload)
    verdicts: dict[int, dict[int, str]] = defaultdict(dict)
    for decision_id, reviewer_id, verdict in labels.values_list(
        "decision_id", "reviewer_id", "verdict"
    ):
        verdicts[decision_id][reviewer_id] = verdict
    pairs = [
        (by[reviewer_a.pk], by[reviewer_b.pk])
        for by in verdicts.values()
        if reviewer_a.pk in by and reviewer_b.pk in by
    ]
    return cohen_kappa(pairs)


@dataclass(frozen=True, slots=True)
class Accuracy:
    workload: str
    decider: str
    labeled: int
    correct: int

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.labeled if self.labeled else None


def accuracy_by_decider(
    *, workload: str = "", since: dt.datetime | None = None, source: str = ""
) -> list[Accuracy]:
    """Share of labeled decisions judged correct, per workload and decider (the label in force
    per decision; ``source`` limits to human or implicit labels)."""
    labels = Label.objects.order_by("created_at", "id")
    if workload:
        labels = labels.filter(decision__workload=workload)
    if since is not None:
        labels = labels.filter(decision__created_at__gte=since)
    if source:
        labels = labels.filter(source=source)
    rows = labels.values_list(
        "decision_id", "decision__workload", "decision__decider", "source", "verdict"
    )
    by_decision: dict[int, tuple[str, str, str]] = {}
    human: set[int] = set()
    for decision_id, wl, decider, label_source, verdict in rows:
        if label_source == LabelSource.HUMAN:
            human.add(decision_id)
        elif decision_id in human:
            continue  # a human verdict outranks any implicit one
        by_decision[decision_id] = (wl, decider, verdict)
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for wl, decider, verdict in by_decision.values():
        totals[(wl, decider)][0] += 1
        totals[(wl, decider)][1] += verdict == Verdict.CORRECT
    return [
        Accuracy(workload=wl, decider=decider, labeled=n, correct=ok)
        for (wl, decider), (n, ok) in sorted(totals.items())
    ]
