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


def export_build(job_id: int) -> None:
    """Queued by the admin's export page for exports above FLYWHEEL_EXPORT_INLINE_MAX decisions;
    also drops jobs older than FLYWHEEL_EXPORT_KEEP_DAYS with their files."""
    from django.conf import settings
    from django.utils import timezone

    from flywheel.exports import export_job_run, export_jobs_prune

    job = export_job_run(job_id)
    if job is not None:
        logger.info("export #%s: %s %s", job.pk, job.status, job.summary or job.error)
    export_jobs_prune(now=timezone.now(), keep_days=settings.FLYWHEEL_EXPORT_KEEP_DAYS)
