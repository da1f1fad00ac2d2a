"""django-q2 entry points (batches of salesforce.ChangeEvent ids); thin wrappers on services."""

from __future__ import annotations

from routing.services.assign import leads_route
from routing.services.owners import owner_changes_record
from salesforce.dispatch import OWNER_CHANGES, ROUTE_LEADS
from salesforce.models import ChangeEvent
from salesforce.pending import work_done


def route_leads(event_ids: list[int]) -> None:
    from salesforce.client import get_client

    events = list(ChangeEvent.objects.filter(id__in=event_ids, entity="Lead"))
    leads_route(events=events, client=_LazyClient(get_client))
    # Not reached when owner writes failed with attempts left: the sweep retries them.
    work_done(task=ROUTE_LEADS, event_ids=event_ids)


def record_owner_changes(event_ids: list[int]) -> None:
    owner_changes_record(events=ChangeEvent.objects.filter(id__in=event_ids, entity="Lead"))
    work_done(task=OWNER_CHANGES, event_ids=event_ids)


class _LazyClient:
    """Builds the Salesforce client on the first call, so a batch of re-delivered events that
    needs no call never logs in."""

    def __init__(self, factory: object) -> None:
        self._factory = factory
        self._client = None

    def __getattr__(self, name: str):
        if self._client is None:
            self._client = self._factory(workload="routing")
        return getattr(self._client, name)
