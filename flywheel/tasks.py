"""django-q2 entry points for the flywheel."""

from __future__ import annotations

import logging

from flywheel.learning.retrain import models_retrain_due

logger = logging.getLogger(__name__)


def retrain_models() -> None:
    """Scheduled (hourly): train workloads with enough new labels; new versions go to shadow."""
    for outcome in models_retrain_due():
        logger.info(
            "retrain %s: %d labelled, %d new: %s%s",
            outcome.workload,
            outcome.labelled,
            outcome.since_last,
            outcome.note,
            f" (v{outcome.version})" if outcome.version else "",
        )
