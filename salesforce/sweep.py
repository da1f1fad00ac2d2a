"""Work lost with a killed worker, found and enqueued again (for every workload of the inbox).

The Redis broker hands tasks out without acknowledgement: the tasks a SIGKILLed worker held are
gone. Dispatch therefore marks each event with the workloads it was handed to (one bit per task in
``ChangeEvent.pending_workloads``), each task clears its bit in one UPDATE when it finished its
events, and the scheduled sweep enqueues again the work still pending a grace period after its
dispatch. The grace is the broker's own ``retry`` (Q_RETRY): the time after which the ORM broker
hands an unacknowledged task out again, and longer than any task may run (Q_TIMEOUT). A task that
raised keeps its bit too, so the sweep also retries failures: at most ``MAX_RERUNS`` times, then
the work goes to the dead-letter table. Every workload is idempotent, so a second run is harmless;
template auto-send stays at most once (its own claim, see ``templates_app.services``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F

from salesforce.dispatch import WORKLOAD_TASKS
from salesforce.inbox import TASK_CHUNK, EnqueueBatch, _enqueue_batch, dead_letter_record
from salesforce.models import ChangeEvent, DeadLetter
from salesforce.pending import WORKLOAD_BITS, work_done

logger = logging.getLogger(__name__)

MAX_RERUNS = 5
SWEEP_LIMIT = 5_000


@dataclass
class SweepResult:
    rerun: dict[str, int] = field(default_factory=dict)
    given_up: dict[str, int] = field(default_factory=dict)
    skipped_busy_queue: bool = False


def lost_work_list(*, dispatched_before: dt.datetime, limit: int = SWEEP_LIMIT) -> list[tuple]:
    """(id, pending bits, reruns) of the events with work unfinished since before the cutoff."""
    return list(
        ChangeEvent.objects.filter(pending_workloads__gt=0, dispatched_at__lt=dispatched_before)
        .order_by("dispatched_at", "id")
        .values_list("id", "pending_workloads", "reruns")[:limit]
    )


def lost_work_rerun(
    *,
    now: dt.datetime,
    grace: dt.timedelta,
    queue_size: int = 0,
    enqueue: EnqueueBatch = _enqueue_batch,
) -> SweepResult:
    """Enqueue again, in chunks of events and like the listener (one task per chunk, routing
    first), the work dispatched before ``now - grace`` that never finished. Nothing is done while tasks wait in the broker (``queue_size``): the pending
    work may be among them, and a backlog must not be doubled."""
    result = SweepResult()
    if queue_size:
        result.skipped_busy_queue = True
        return result
    rerun: dict[str, list[int]] = defaultdict(list)
    given_up: dict[str, list[int]] = defaultdict(list)
    for event_id, bits, reruns in lost_work_list(dispatched_before=now - grace):
        for task, bit in WORKLOAD_BITS.items():
            if bits & bit:
                (rerun if reruns < MAX_RERUNS else given_up)[task].append(event_id)
    if given_up:
        _give_up(given_up)
    if rerun:
        _enqueue_again(rerun, now=now, enqueue=enqueue)
    result.rerun = {task: len(ids) for task, ids in rerun.items()}
    result.given_up = {task: len(ids) for task, ids in given_up.items()}
    if rerun:
        logger.warning("re-enqueued work that never finished: %s", result.rerun)
    return result


@transaction.atomic
def _enqueue_again(rerun: dict[str, list[int]], *, now: dt.datetime, enqueue: EnqueueBatch) -> None:
    # The marks first: a fast task then clears its bit on a committed row.
    again = sorted({event_id for ids in rerun.values() for event_id in ids})
    ChangeEvent.objects.filter(id__in=again).update(dispatched_at=now, reruns=F("reruns") + 1)
    for start in range(0, len(again), TASK_CHUNK):
        chunk = set(again[start : start + TASK_CHUNK])
        plan = {
            task: [event_id for event_id in rerun[task] if event_id in chunk]
            for task in WORKLOAD_TASKS
            if task in rerun
        }
        enqueue({task: ids for task, ids in plan.items() if ids})


def _give_up(given_up: dict[str, list[int]]) -> None:
    for task, event_ids in given_up.items():
        dead_letter_record(
            source="sweep",
            reason=f"{task} never finished {len(event_ids)} event(s) after {MAX_RERUNS} re-runs",
            payload={"task": task, "event_ids": event_ids[:1000]},
        )
        work_done(task=task, event_ids=event_ids)


def lost_work_retry(
    *, letters: list[DeadLetter], now: dt.datetime, enqueue: EnqueueBatch | None = None
) -> tuple[int, int]:
    """An operator's retry of work the sweep gave up on (dead letters of source "sweep"): the
    events get their workload's bit back with a fresh count of re-runs, are enqueued at once,
    and the letters are resolved. Other letters are left alone. Returns (letters, events)."""
    plan: dict[str, set[int]] = defaultdict(set)
    retried = []
    for letter in letters:
        task, event_ids = letter.payload.get("task"), letter.payload.get("event_ids")
        if letter.source != "sweep" or task not in WORKLOAD_BITS or not isinstance(event_ids, list):
            continue
        plan[task].update(i for i in event_ids if isinstance(i, int))
        retried.append(letter.pk)
    if not retried:
        return 0, 0
    enqueue = enqueue or _enqueue_batch
    with transaction.atomic():
        existing = set(
            ChangeEvent.objects.filter(
                id__in={i for ids in plan.values() for i in ids}
            ).values_list("id", flat=True)
        )
        for task, event_ids in plan.items():
            ChangeEvent.objects.filter(id__in=event_ids & existing).update(
                pending_workloads=F("pending_workloads").bitor(WORKLOAD_BITS[task]),
                reruns=0,
                dispatched_at=now,
            )
        ordered = sorted(existing)
        for start in range(0, len(ordered), TASK_CHUNK):
            chunk = set(ordered[start : start + TASK_CHUNK])
            batch = {task: sorted(plan[task] & chunk) for task in WORKLOAD_TASKS if task in plan}
            enqueue({task: ids for task, ids in batch.items() if ids})
        DeadLetter.objects.filter(pk__in=retried).update(resolved_at=now)
    return len(retried), len(existing)
