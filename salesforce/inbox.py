"""The inbox: change events made durable before their replay id is stored, then dispatched.

Order of operations (at least once): events and the new replay positions are written in ONE
database transaction; then one task per batch (``salesforce.workloads.run_workloads``, with each
workload's event ids) is enqueued and the events marked dispatched; rows not yet marked dispatched
are dispatched again by ``events_dispatch_pending`` (at listener start and periodically).
Workloads are idempotent, so a second dispatch is harmless.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence

from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from flywheel_site.bulk import rows_insert
from salesforce.cdc import MAX_REPLAY_ID, ParsedChange, storable
from salesforce.dispatch import EventView, plan_dispatch
from salesforce.models import ChangeEvent, DeadLetter, ReplayPosition
from salesforce.pending import work_pending_mark

logger = logging.getLogger(__name__)

TASK_CHUNK = 500  # events per task
RUN_WORKLOADS = "salesforce.workloads.run_workloads"
Enqueue = Callable[[str, list[int]], None]
EnqueueBatch = Callable[[dict[str, list[int]]], None]


def _enqueue(task_path: str, event_ids: list[int]) -> None:
    """One workload's task for these events (the sweep re-runs lost work this way)."""
    async_task(task_path, event_ids, task_name=None, group=task_path.split(".")[0])


def _enqueue_batch(plan: dict[str, list[int]]) -> None:
    """One task running every workload of a batch (``plan``: workload task → event ids)."""
    async_task(RUN_WORKLOADS, plan, task_name=None, group="workloads")


def events_store(
    *,
    changes: Sequence[ParsedChange],
    source: str,
    positions: dict[str, tuple[int | None, dt.datetime | None]] | None = None,
    watermark: tuple[str, dt.datetime] | None = None,
) -> list[int]:
    """Insert new changes (duplicates by replay id are skipped) and advance replay positions.

    Returns the ids of the rows inserted by this call.
    """
    if not changes and not positions and watermark is None:
        return []  # nothing to write: no transaction (on SQLite it would take the write lock)
    return _events_store(changes=changes, source=source, positions=positions, watermark=watermark)


@transaction.atomic
def _events_store(
    *,
    changes: Sequence[ParsedChange],
    source: str,
    positions: dict[str, tuple[int | None, dt.datetime | None]] | None,
    watermark: tuple[str, dt.datetime] | None,
) -> list[int]:
    fresh = _without_duplicates(changes, source=source)
    rows = rows_insert(
        [
            ChangeEvent(
                entity=change.entity,
                change_type=change.change_type,
                record_id=change.record_id,
                fields=change.fields,
                changed_fields=change.changed_fields,
                commit_timestamp=change.commit_timestamp,
                commit_user=change.commit_user,
                change_origin=change.change_origin,
                is_own_write=change.is_own_write,
                transaction_key=change.transaction_key,
                replay_id=change.replay_id,
                source=source,
            )
            for change in fresh
        ]
    )
    for channel, (replay_id, commit_ts) in (positions or {}).items():
        replay_position_save(channel=channel, replay_id=replay_id, commit_timestamp=commit_ts)
    if watermark is not None:
        channel, mark = watermark
        ReplayPosition.objects.update_or_create(channel=channel, defaults={"watermark": mark})
    return [row.pk for row in rows]


def _without_duplicates(changes: Sequence[ParsedChange], *, source: str) -> list[ParsedChange]:
    keyed = [c for c in changes if c.replay_id is not None]
    seen: set[tuple[int, str]] = set()
    if keyed:
        seen = set(
            ChangeEvent.objects.filter(
                source=source, replay_id__in={c.replay_id for c in keyed}
            ).values_list("replay_id", "record_id")
        )
    fresh = []
    for change in changes:
        key = (change.replay_id, change.record_id)
        if change.replay_id is not None:
            if key in seen:
                continue
            seen.add(key)
        fresh.append(change)
    return fresh


@transaction.atomic  # its own when called outside a batch's (the listener's catch-up)
def replay_position_save(
    *, channel: str, replay_id: int | None, commit_timestamp: dt.datetime | None
) -> None:
    """Move a channel's replay position forward (never backwards). An id no real stream sends
    (outside the 64-bit column, from a dead-lettered message) is ignored."""
    if replay_id is not None and not 0 <= replay_id <= MAX_REPLAY_ID:
        logger.warning("ignored out-of-range replay id %r on %s", replay_id, channel)
        replay_id = None
    position, _ = ReplayPosition.objects.select_for_update().get_or_create(channel=channel)
    if replay_id is not None and (position.replay_id is None or replay_id > position.replay_id):
        position.replay_id = replay_id
    if commit_timestamp and (
        position.commit_timestamp is None or commit_timestamp > position.commit_timestamp
    ):
        position.commit_timestamp = commit_timestamp
    position.save()


@transaction.atomic
def poll_watermarks_from_stream(*, channels: dict[str, str]) -> dict[str, dt.datetime]:
    """Before polling takes over from the stream: move each polling channel's watermark up to
    the commit time its stream channel is known complete to (``channels``: stream channel →
    polling channel), never backwards. Returns the polling watermarks now set."""
    marks: dict[str, dt.datetime] = {}
    for stream_channel, poll_channel in channels.items():
        stream = replay_position_get(stream_channel)
        position, _ = ReplayPosition.objects.select_for_update().get_or_create(channel=poll_channel)
        covered = stream.commit_timestamp if stream else None
        if covered and (position.watermark is None or covered > position.watermark):
            position.watermark = covered
            position.save(update_fields=["watermark", "updated_at"])
        if position.watermark:
            marks[poll_channel] = position.watermark
    return marks


def replay_position_reset(*, channel: str) -> None:
    """Forget a replay id the server rejected (the commit time stays for reconciliation)."""
    ReplayPosition.objects.filter(channel=channel).update(replay_id=None)


def replay_position_get(channel: str) -> ReplayPosition | None:
    return ReplayPosition.objects.filter(channel=channel).first()


def dead_letter_record(*, source: str, reason: str, payload: object) -> DeadLetter:
    logger.warning("dead letter from %s: %s", source, reason)
    safe_payload = (
        storable(payload) if isinstance(payload, dict) else {"value": repr(payload)[:10_000]}
    )
    reason = reason.replace("\x00", "")[:2000]
    return DeadLetter.objects.create(source=source, reason=reason, payload=safe_payload)


def events_dispatch(
    *, event_ids: Iterable[int], integration_user_id: str, enqueue: EnqueueBatch = _enqueue_batch
) -> dict[str, int]:
    """Enqueue one task per chunk of events, carrying each workload's share of the chunk (see
    ``salesforce.workloads.run_workloads``), and mark the events dispatched. Returns events per
    workload."""
    ids = list(event_ids)
    views = [
        EventView(
            id=row["id"],
            entity=row["entity"],
            change_type=row["change_type"],
            changed_fields=tuple(row["changed_fields"] or ()),
            commit_user=row["commit_user"],
            is_own_write=row["is_own_write"],
            source=row["source"],
        )
        for row in ChangeEvent.objects.filter(id__in=ids).values(
            "id", "entity", "change_type", "changed_fields", "commit_user", "is_own_write", "source"
        )
    ]
    views.sort(key=lambda view: view.id)
    plans = [
        plan_dispatch(views[start : start + TASK_CHUNK], integration_user_id=integration_user_id)
        for start in range(0, len(views), TASK_CHUNK)
    ]
    counts: dict[str, int] = {}
    # One transaction: with the ORM broker the tasks and the dispatch mark commit together (one
    # write lock instead of one per task on SQLite); a broker error leaves the events pending.
    with transaction.atomic():
        for plan in plans:
            if not plan:
                continue
            # Before the task: the sweep re-runs what it never finishes.
            work_pending_mark(plan=plan)
            enqueue(plan)
            for task_path, task_ids in plan.items():
                counts[task_path] = counts.get(task_path, 0) + len(task_ids)
        ChangeEvent.objects.filter(id__in=ids).update(dispatched_at=timezone.now())
    return counts


def events_dispatch_pending(
    *,
    integration_user_id: str,
    older_than_seconds: float = 0,
    enqueue: EnqueueBatch = _enqueue_batch,
) -> int:
    """Dispatch stored events whose dispatch was interrupted (e.g. the listener was killed)."""
    cutoff = timezone.now() - dt.timedelta(seconds=older_than_seconds)
    pending = list(
        ChangeEvent.objects.filter(dispatched_at__isnull=True, received_at__lte=cutoff)
        .order_by("id")
        .values_list("id", flat=True)[:20_000]
    )
    if pending:
        events_dispatch(event_ids=pending, integration_user_id=integration_user_id, enqueue=enqueue)
    return len(pending)
