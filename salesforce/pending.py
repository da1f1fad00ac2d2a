"""Which workloads have not finished an event yet: one bit per task in
``ChangeEvent.pending_workloads``, set by dispatch and cleared by each task when it is done.
The sweep (``salesforce/sweep.py``) enqueues again what stays pending."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db.models import F

from salesforce.dispatch import (
    MATCH_SENT_EMAILS,
    OWNER_CHANGES,
    PROCESS_ACTIVITY,
    ROUTE_LEADS,
    SUGGEST_TEMPLATES,
)
from salesforce.models import ChangeEvent

# Stored in the rows: a workload keeps its bit for good (a new one takes the next free bit).
WORKLOAD_BITS = {
    ROUTE_LEADS: 1,
    OWNER_CHANGES: 2,
    SUGGEST_TEMPLATES: 4,
    PROCESS_ACTIVITY: 8,
    MATCH_SENT_EMAILS: 16,
}
ALL_BITS = sum(WORKLOAD_BITS.values())


def work_pending_mark(*, plan: dict[str, list[int]]) -> None:
    """Record which workloads each event is handed to (called by dispatch before it enqueues,
    in the same transaction, so a fast task never clears a bit before it is set)."""
    masks: dict[int, int] = defaultdict(int)
    for task, event_ids in plan.items():
        for event_id in event_ids:
            masks[event_id] |= WORKLOAD_BITS[task]
    by_mask: dict[int, list[int]] = defaultdict(list)
    for event_id, mask in masks.items():
        by_mask[mask].append(event_id)
    for mask, event_ids in by_mask.items():
        ChangeEvent.objects.filter(id__in=event_ids).update(pending_workloads=mask)


_collected: ContextVar[list[tuple[str, list[int]]] | None] = ContextVar(
    "work_done_collected", default=None
)


def work_done(*, task: str, event_ids: Iterable[int]) -> None:
    """A workload finished these events: clear its bit (one UPDATE for the batch, or collected
    for the end of an enclosing ``work_done_together``)."""
    collected = _collected.get()
    if collected is not None:
        collected.append((task, list(event_ids)))
        return
    _bits_clear({event_id: WORKLOAD_BITS[task] for event_id in event_ids})


@contextmanager
def work_done_together() -> Iterator[None]:
    """One task running several workloads: their ``work_done`` calls are written together when
    the block ends (one UPDATE per distinct set of finished workloads, usually one, instead of
    one per workload: on SQLite each is a wait for the write lock)."""
    collected: list[tuple[str, list[int]]] = []
    token = _collected.set(collected)
    try:
        yield
    finally:
        _collected.reset(token)
        masks: dict[int, int] = defaultdict(int)
        for task, event_ids in collected:
            for event_id in event_ids:
                masks[event_id] |= WORKLOAD_BITS[task]
        _bits_clear(masks)


def _bits_clear(masks: dict[int, int]) -> None:
    by_mask: dict[int, list[int]] = defaultdict(list)
    for event_id, mask in masks.items():
        by_mask[mask].append(event_id)
    for mask, event_ids in by_mask.items():
        ChangeEvent.objects.filter(id__in=event_ids, pending_workloads__gt=0).update(
            pending_workloads=F("pending_workloads").bitand(ALL_BITS & ~mask)
        )
