"""django-q2 entry points for TTFR: thin, idempotent, batched."""

from __future__ import annotations

import datetime as dt
import logging

from salesforce.client import get_client
from salesforce.dispatch import PROCESS_ACTIVITY
from salesforce.models import ChangeEvent
from salesforce.pending import work_done
from ttfr.services import detect, sla

logger = logging.getLogger(__name__)


def _client() -> detect.SalesforceClient:
    return get_client(workload="ttfr")


def process_activity(event_ids: list[int]) -> None:
    """Task / EmailMessage / Lead events → first responses recomputed and written back."""
    events = list(ChangeEvent.objects.filter(id__in=event_ids).order_by("id"))
    result = detect.activity_process(client=_client(), events=events, now=dt.datetime.now(dt.UTC))
    logger.info(
        "ttfr: %d events, %d leads, %d updated, %d unchanged, %d failed",
        len(events),
        result.leads,
        result.updated,
        result.unchanged,
        result.failed,
    )
    work_done(task=PROCESS_ACTIVITY, event_ids=event_ids)


def check_sla() -> None:
    """Scheduled every few minutes: refresh breach flags and act on new breaches."""
    breaches = sla.sla_breaches_check(client=_client(), now=dt.datetime.now(dt.UTC))
    if breaches:
        logger.info("ttfr: %d new SLA breaches", len(breaches))
