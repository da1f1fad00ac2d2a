"""Train a local model for a workload, evaluate it on held-out labels beside the deciders that
answered those same cases, and save it as a new ``ModelVersion``."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import sklearn
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from flywheel.choices import Decider
from flywheel.learning import evaluation
from flywheel.learning.artifacts import ArtifactError, artifact_load, artifact_write
from flywheel.learning.choices import ModelMode
from flywheel.learning.dataset import Dataset, Example, dataset_build
from flywheel.learning.services import model_version_mode_set
from flywheel.learning.specs import WorkloadSpec, predict, spec_get
from flywheel.models import ModelVersion

STAGES = ("load", "split", "fit", "evaluate", "compare", "save")
HELD_OUT_SHARE = 0.25
MIN_HELD_OUT = 4


class TrainingRefused(ValueError):
    """Training cannot run; the message says what is missing."""


def min_labels_default() -> int:
    return int(getattr(settings, "FLYWHEEL_MIN_LABELS", 50))


@dataclass(frozen=True, slots=True)
class TrainingReport:
    version: ModelVersion
    counts: dict

    @property
    def metrics(self) -> dict:
        return self.version.metrics

    @property
    def comparison(self) -> list[dict]:
        """Rows on the same held-out cases: this version first, then the champion model (if
        any) and the deciders recorded when those cases were decided."""
        return self.version.metrics["comparison"]


def model_train(
    *,
    workload: str,
    min_labels: int | None = None,
    weak_labels: bool = False,
    mode: str = ModelMode.OFF,
    ab_share: float = 0.1,
    on_stage: Callable[[str], None] | None = None,
) -> TrainingReport:
    """Build the dataset, refuse below ``min_labels`` labelled decisions, fit, evaluate on a
    held-out split of labelled cases the model would serve, compare and save."""
    spec = spec_get(workload)
    step = on_stage or (lambda _stage: None)
    needed = min_labels_default() if min_labels is None else min_labels
    dataset = dataset_build(spec=spec, weak_labels=weak_labels)
    step("load")
    if len(dataset.labelled) < needed:
        raise TrainingRefused(
            f"Only {len(dataset.labelled)} labelled {workload} decision(s) with a usable answer; "
            f"at least {needed} are needed. Label more in the review queue, or lower --min-labels."
        )
    train, held_out = _split(dataset)
    step("split")
    extras = spec.extras([example.truth for example in train])
    pipelines = {target: _fit(spec, target, train, extras) for target in spec.targets}
    step("fit")
    metrics = _evaluate(spec, pipelines, extras, held_out)
    step("evaluate")
    metrics["comparison"] = [
        metrics.pop("row"),
        *_champion_rows(spec, held_out),
        *_recorded_rows(held_out),
    ]
    step("compare")
    version = _save(spec, pipelines, extras, metrics, train, held_out, dataset)
    if mode != ModelMode.OFF:
        version = model_version_mode_set(version=version, mode=mode, ab_share=ab_share)
    step("save")
    return TrainingReport(version=version, counts=version.training_set["counts"])


def _split(dataset: Dataset) -> tuple[list[Example], list[Example]]:
    """Held-out: a stratified quarter of the labelled cases the model serves (weak labels only
    ever train); a fixed seed keeps the split the same for the same data."""
    served = [example for example in dataset.labelled if example.serves]
    others = [example for example in dataset.labelled if not example.serves]
    if len(served) < MIN_HELD_OUT * 2:
        raise TrainingRefused(
            f"Only {len(served)} labelled decision(s) of the kind the model serves; "
            f"at least {MIN_HELD_OUT * 2} are needed to hold some out."
        )
    first = [next(iter(example.truth.values())) for example in served]
    counts = Counter(first)
    size = max(MIN_HELD_OUT, round(len(served) * HELD_OUT_SHARE))
    stratify = first if min(counts.values()) >= 2 and size >= len(counts) else None
    train, held_out = train_test_split(served, test_size=size, random_state=0, stratify=stratify)
    return [*train, *others, *dataset.weak], held_out


def _fit(spec: WorkloadSpec, target: str, train: list[Example], extras: dict):
    labels = [example.truth[target] for example in train]
    if len(set(labels)) < 2:
        raise TrainingRefused(
            f"Every training example has {target} {labels[0]!r}; a model needs two classes or more."
        )
    pipeline = spec.pipeline(target=target, extras=extras)
    final = pipeline.steps[-1][0]
    with threadpool_limits(limits=1):  # small problems: BLAS threads only add contention
        pipeline.fit(
            [example.inputs for example in train],
            labels,
            **{f"{final}__sample_weight": [example.weight for example in train]},
        )
    return pipeline


def _evaluate(spec: WorkloadSpec, pipelines: dict, extras: dict, held_out: list[Example]) -> dict:
    started = time.perf_counter()
    predictions = predict(spec=spec, pipelines=pipelines, inputs=[e.inputs for e in held_out])
    latency = (time.perf_counter() - started) * 1000 / len(held_out)
    answers = [spec.answer(predictions=p, extras=extras, name="local") for p in predictions]
    correct = [
        _correct(spec, answer, example) for answer, example in zip(answers, held_out, strict=True)
    ]
    confidences = [float(answer["confidence"]) for answer in answers]
    metrics = {
        "held_out": len(held_out),
        "accuracy": evaluation.accuracy(correct),
        "targets": {
            target: {
                "accuracy": evaluation.accuracy(
                    [
                        p[target].label == e.truth[target]
                        for p, e in zip(predictions, held_out, strict=True)
                    ]
                ),
                "per_class": evaluation.per_class(
                    [e.truth[target] for e in held_out], [p[target].label for p in predictions]
                ),
            }
            for target in spec.targets
        },
        "calibration": evaluation.calibration(confidences, correct),
        "latency_ms": round(latency, 3),
    }
    metrics["row"] = _row("this version", correct, latency_ms=latency, cost_per_1k=0.0)
    return metrics


def _champion_rows(spec: WorkloadSpec, held_out: list[Example]) -> list[dict]:
    """The current champion model, re-run on the same held-out cases."""
    champion = ModelVersion.objects.filter(workload=spec.workload, mode=ModelMode.CHAMPION).first()
    if champion is None:
        return []
    try:
        payload = artifact_load(relative=champion.artifact_path, sha256=champion.sha256)
    except ArtifactError as error:
        return [{"decider": f"{champion.name} (champion)", "n": 0, "note": str(error)}]
    started = time.perf_counter()
    predictions = predict(
        spec=spec, pipelines=payload["pipelines"], inputs=[e.inputs for e in held_out]
    )
    latency = (time.perf_counter() - started) * 1000 / len(held_out)
    correct = [
        all(p[target].label == e.truth[target] for target in spec.targets)
        for p, e in zip(predictions, held_out, strict=True)
    ]
    return [_row(f"{champion.name} (champion)", correct, latency_ms=latency, cost_per_1k=0.0)]


def _recorded_rows(held_out: list[Example]) -> list[dict]:
    """What actually decided these cases when they happened, overall and per decider."""
    groups: dict[str, list[Example]] = {"recorded (all)": held_out}
    for example in held_out:
        named = example.model_name and example.decider in (Decider.LLM, Decider.MODEL)
        name = example.decider + (f" {example.model_name}" if named else "")
        groups.setdefault(f"recorded: {name}", []).append(example)
    rows = []
    for name, members in groups.items():
        correct = [_recorded_correct(example) for example in members]
        latency = sum(example.latency_ms for example in members) / len(members)
        cost = sum(example.cost_usd for example in members) / len(members) * 1000
        rows.append(_row(name, correct, latency_ms=latency, cost_per_1k=cost))
    return rows


def _recorded_correct(example: Example) -> bool:
    return all(example.recorded.get(target) == value for target, value in example.truth.items())


def _correct(spec: WorkloadSpec, answer: dict, example: Example) -> bool:
    return all(answer.get(target) == example.truth[target] for target in spec.targets)


def _row(name: str, correct: list[bool], *, latency_ms: float, cost_per_1k: float) -> dict:
    return {
        "decider": name,
        "n": len(correct),
        "accuracy": evaluation.accuracy(correct),
        "latency_ms": round(latency_ms, 3),
        "cost_per_1k_usd": round(cost_per_1k, 4),
    }


@transaction.atomic
def _save(
    spec: WorkloadSpec,
    pipelines: dict,
    extras: dict,
    metrics: dict,
    train: list[Example],
    held_out: list[Example],
    dataset: Dataset,
) -> ModelVersion:
    latest = ModelVersion.objects.filter(workload=spec.workload).aggregate(n=Max("version"))["n"]
    number = (latest or 0) + 1
    relative = f"{spec.workload}/{spec.workload}-v{number}-{uuid.uuid4().hex[:8]}.joblib"
    payload = {
        "format": 1,
        "workload": spec.workload,
        "version": number,
        "targets": list(spec.targets),
        "pipelines": pipelines,
        "extras": extras,
        "sklearn": sklearn.__version__,
    }
    checksum = artifact_write(payload=payload, relative=relative)
    classes = Counter(next(iter(example.truth.values())) for example in train if not example.weak)
    return ModelVersion.objects.create(
        workload=spec.workload,
        version=number,
        algorithm=spec.algorithm,
        artifact_path=relative,
        sha256=checksum,
        metrics=metrics,
        training_set={
            "train_ids": [example.decision_id for example in train if not example.weak],
            "weak_ids": [example.decision_id for example in train if example.weak],
            "held_out_ids": [example.decision_id for example in held_out],
            "counts": {
                "labelled": len(dataset.labelled),
                "weak": len(dataset.weak),
                "train": len(train),
                "held_out": len(held_out),
                "skipped": dict(dataset.skipped),
                "train_by_class": dict(sorted(classes.items())),
            },
        },
    )
