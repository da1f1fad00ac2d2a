"""django-q2 entry points (batches of salesforce.ChangeEvent ids); thin wrappers on services."""

from __future__ import annotations

import datetime as dt
import logging

from routing.services.assign import leads_route
from routing.services.owners import owner_changes_record
from salesforce.models import ChangeEvent

logger = logging.getLogger(__name__)


def route_leads(event_ids: list[int]) -> None:
    from salesforce.client import get_client

    events = list(ChangeEvent.objects.filter(id__in=event_ids, entity="Lead"))
    leads_route(events=events, client=_LazyClient(get_client))


def route_stragglers() -> int:
    """Scheduled every minute: route the leads whose routing task was lost (a broker without
    acknowledgements loses a killed worker's tasks). Idempotent like every routing path."""
    from django.utils import timezone

    from routing.selectors import straggler_lead_events
    from salesforce.client import get_client

    now = timezone.now()
    events = straggler_lead_events(
        stored_before=now - dt.timedelta(minutes=2), stored_after=now - dt.timedelta(days=2)
    )
    if events:
        logger.warning("routing %d lead(s) whose routing task never finished", len(events))
        leads_route(events=events, client=_LazyClient(get_client))
    return len(events)


def record_owner_changes(event_ids: list[int]) -> None:
    owner_changes_record(events=ChangeEvent.objects.filter(id__in=event_ids, entity="Lead"))


class _LazyClient:
    """Builds the Salesforce client on the first write, so a batch of re-delivered events that
    needs no write never logs in."""

    def __init__(self, factory: object) -> None:
        self._factory = factory
        self._client = None

    def update_records(self, sobject: str, records: list[dict]) -> list:
        if self._client is None:
            self._client = self._factory(workload="routing")
        return self._client.update_records(sobject, records)
