"""Training examples out of the decision log: the label in force gives the truth (a correction
wins over the decision's own output); unlabeled LLM answers may join as weak labels."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Prefetch

from flywheel.choices import Decider, DecisionStatus, Verdict
from flywheel.learning.specs import WorkloadSpec
from flywheel.models import Decision, Label
from flywheel.selectors import label_in_force

WEAK_WEIGHT = 0.5


@dataclass(frozen=True, slots=True)
class Example:
    decision_id: int
    inputs: object
    truth: dict[str, str]
    recorded: dict
    decider: str
    model_name: str
    latency_ms: float
    cost_usd: float
    serves: bool
    weak: bool = False

    @property
    def weight(self) -> float:
        return WEAK_WEIGHT if self.weak else 1.0


@dataclass
class Dataset:
    labelled: list[Example] = field(default_factory=list)
    weak: list[Example] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)


def dataset_build(*, spec: WorkloadSpec, weak_labels: bool = False) -> Dataset:
    """Every usable decision of the workload (shadow rows live under their own workload name and
    never train the model they measure)."""
    dataset = Dataset()
    decisions = (
        Decision.objects.filter(workload=spec.workload)
        .exclude(status=DecisionStatus.ERROR)
        .only(
            "id", "context", "output", "decider", "model_name", "latency_ms", "cost_usd", "status"
        )
        .order_by("id")
        .prefetch_related(Prefetch("labels", queryset=Label.objects.order_by("created_at", "id")))
    )
    for decision in decisions.iterator(chunk_size=1000):
        label = label_in_force(list(decision.labels.all()))
        if label is None:
            weak = weak_labels and decision.decider == Decider.LLM
            if not weak or decision.status != DecisionStatus.OK:
                dataset.skipped["unlabelled"] += 1
                continue
            source = decision.output
        elif label.verdict == Verdict.CORRECT:
            source = decision.output
        elif label.corrected_output is not None:
            source = label.corrected_output
        else:
            dataset.skipped["incorrect without correction"] += 1
            continue
        truth = {target: source.get(target) for target in spec.targets}
        if not all(isinstance(value, str) and value for value in truth.values()):
            dataset.skipped["no usable answer"] += 1
            continue
        example = Example(
            decision_id=decision.pk,
            inputs=spec.inputs(decision.context or {}),
            truth=truth,
            recorded=decision.output or {},
            decider=decision.decider,
            model_name=decision.model_name,
            latency_ms=decision.latency_ms,
            cost_usd=float(decision.cost_usd or 0),
            serves=spec.serves(decision.context or {}),
            weak=label is None,
        )
        (dataset.weak if example.weak else dataset.labelled).append(example)
    return dataset
