"""The scheduled retrain: a new model version when enough new labels arrived since the last one.
It goes to shadow (beside the champion, never acted on), never to champion: people promote."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings

from flywheel.learning.choices import ModelMode
from flywheel.learning.specs import SPECS
from flywheel.learning.training import TrainingRefused, model_train
from flywheel.models import Label, ModelVersion

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetrainOutcome:
    workload: str
    labelled: int
    since_last: int
    version: int | None = None
    note: str = ""


def new_labels_needed() -> int:
    return int(getattr(settings, "FLYWHEEL_RETRAIN_NEW_LABELS", 100))


def models_retrain_due() -> list[RetrainOutcome]:
    """Train each workload that has at least FLYWHEEL_RETRAIN_NEW_LABELS labelled decisions more
    than its latest version was trained on. An A/B challenger chosen by people is left in place
    (the new version stays off)."""
    outcomes = []
    for workload in SPECS:
        labelled = (
            Label.objects.filter(decision__workload=workload).values("decision").distinct().count()
        )
        latest = ModelVersion.objects.filter(workload=workload).order_by("-version").first()
        trained_on = (latest.training_set.get("counts", {}).get("labelled", 0)) if latest else 0
        since = labelled - trained_on
        if since < new_labels_needed():
            outcomes.append(RetrainOutcome(workload, labelled, since, note="not enough new labels"))
            continue
        in_ab = ModelVersion.objects.filter(workload=workload, mode=ModelMode.AB).exists()
        try:
            report = model_train(
                workload=workload, mode=ModelMode.OFF if in_ab else ModelMode.SHADOW
            )
        except TrainingRefused as refusal:
            logger.info("retrain %s refused: %s", workload, refusal)
            outcomes.append(RetrainOutcome(workload, labelled, since, note=str(refusal)))
            continue
        note = "left off: an A/B test is running" if in_ab else "in shadow"
        outcomes.append(RetrainOutcome(workload, labelled, since, report.version.version, note))
    return outcomes
