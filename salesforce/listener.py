"""The listener's work outside the stream itself: batches, gaps, reconciliation and polling."""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from salesforce import auth, conf, inbox
from salesforce.cdc import MAX_REPLAY_ID, InvalidChangeEvent, ParsedChange, parse_message
from salesforce.fields import select_clause
from salesforce.lease import notice_record
from salesforce.records import change_from_record, parse_sf_datetime, soql_datetime

logger = logging.getLogger(__name__)

POLL_OVERLAP = dt.timedelta(seconds=60)
RECONCILE_ENTITIES = ("Lead", "Task", "EmailMessage")


@dataclass
class BatchOutcome:
    stored: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    reconciled: int = 0
    dispatched: dict[str, int] = field(default_factory=dict)
    last_replay_id: int | None = None
    last_commit: dt.datetime | None = None


def batch_process(
    messages: Iterable[object], *, client: object, integration_user_id: str
) -> BatchOutcome:
    """Make a batch of CDC messages durable, reconcile its gaps, then dispatch it.

    Raises when reconciliation cannot reach Salesforce: nothing is stored and the replay ids do
    not move, so the caller retries the same batch (or a restart replays it).
    """
    outcome = BatchOutcome()
    changes: list[ParsedChange] = []
    positions: dict[str, tuple[int | None, dt.datetime | None]] = {}
    for message in messages:
        channel = str(message.get("channel", "")) if isinstance(message, dict) else ""
        try:
            parsed = parse_message(message, channel=channel)
        except InvalidChangeEvent as error:
            inbox.dead_letter_record(source="cdc", reason=str(error), payload=message)
            outcome.dead_letters += 1
            _advance(positions, channel, _replay_id_of(message), None)
            continue
        changes.extend(parsed)
        _advance(positions, channel, parsed[0].replay_id, parsed[0].commit_timestamp)

    gaps = [change for change in changes if change.is_gap]
    regular = [change for change in changes if not change.is_gap]
    reconciled = reconcile_gaps(gaps, client=client, integration_user_id=integration_user_id)
    ids = inbox.events_store(changes=regular, source="cdc", positions=positions)
    ids += inbox.events_store(changes=reconciled, source="reconcile")
    outcome.stored = len(ids)
    outcome.duplicates = len(regular) + len(reconciled) - len(ids)
    outcome.reconciled = len(reconciled)
    if ids:
        outcome.dispatched = inbox.events_dispatch(
            event_ids=ids, integration_user_id=integration_user_id
        )
    replay_ids = [rid for rid, _ in positions.values() if rid is not None]
    commits = [ts for _, ts in positions.values() if ts is not None]
    outcome.last_replay_id = max(replay_ids, default=None)
    outcome.last_commit = max(commits, default=None)
    return outcome


def _advance(
    positions: dict, channel: str, replay_id: int | None, commit: dt.datetime | None
) -> None:
    if not channel:
        return
    old_id, old_ts = positions.get(channel, (None, None))
    new_id = max((x for x in (old_id, replay_id) if x is not None), default=None)
    new_ts = max((x for x in (old_ts, commit) if x is not None), default=None)
    positions[channel] = (new_id, new_ts)


def _replay_id_of(message: object) -> int | None:
    try:
        value = message["data"]["event"]["replayId"]  # type: ignore[index]
    except (KeyError, TypeError):
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return value if 0 <= value <= MAX_REPLAY_ID else None


def reconcile_gaps(
    gaps: list[ParsedChange], *, client: object, integration_user_id: str
) -> list[ParsedChange]:
    """Refetch the records named by GAP events (GAP_OVERFLOW: everything since the gap's time)."""
    if not gaps:
        return []
    by_entity: dict[str, set[str]] = {}
    overflow_since: dt.datetime | None = None
    for gap in gaps:
        if gap.change_type == "GAP_OVERFLOW":
            since = gap.commit_timestamp - POLL_OVERLAP
            overflow_since = min(overflow_since or since, since)
        else:
            by_entity.setdefault(gap.entity, set()).add(gap.record_id)
    notice_record(text=f"Reconciled {len(gaps)} gap event(s) from the change stream.")
    logger.warning("reconciling %d gap events", len(gaps))
    changes: list[ParsedChange] = []
    for entity, record_ids in by_entity.items():
        records = client.query_ids(
            select_clause(entity) + " WHERE Id IN ({ids})", sorted(record_ids)
        )
        changes += [
            change_from_record(entity, record, integration_user_id=integration_user_id)
            for record in records
        ]
    if overflow_since is not None:
        changes += changes_since(
            overflow_since, client=client, integration_user_id=integration_user_id
        )
    return changes


def changes_since(
    since: dt.datetime,
    *,
    client: object,
    integration_user_id: str,
    entities: Iterable[str] = RECONCILE_ENTITIES,
) -> list[ParsedChange]:
    """Every record changed at or after ``since`` (SystemModstamp), as change rows."""
    changes: list[ParsedChange] = []
    for entity in entities:
        soql = (
            f"{select_clause(entity)} WHERE SystemModstamp >= {soql_datetime(since)} "
            "ORDER BY SystemModstamp ASC, Id ASC"
        )
        changes += [
            change_from_record(entity, record, integration_user_id=integration_user_id)
            for record in client.query_all(soql)
        ]
    return changes


def reconcile_since(
    since: dt.datetime,
    *,
    client: object,
    integration_user_id: str,
    reason: str = "",
    entities: Iterable[str] = RECONCILE_ENTITIES,
) -> int:
    """Recover from lost events (expired replay id, changes while nobody listened) by feeding
    the records changed since ``since`` to dispatch. The operator is told when there is a
    ``reason`` or something was found."""
    entities = tuple(entities)
    changes = changes_since(
        since, client=client, integration_user_id=integration_user_id, entities=entities
    )
    ids = inbox.events_store(changes=changes, source="reconcile")
    if ids:
        inbox.events_dispatch(event_ids=ids, integration_user_id=integration_user_id)
    if reason or changes:
        what = "/".join(entities)
        notice_record(
            text=f"{reason} Reconciled {len(changes)} {what} record(s) changed since "
            f"{since:%Y-%m-%d %H:%M:%S} UTC.".strip()
        )
        logger.warning(
            "%s reconciled %d %s records since %s", reason, len(changes), what, since.isoformat()
        )
    return len(ids)


def salesforce_now() -> dt.datetime:
    """Salesforce's clock: the ``Date`` header of its API versions list (not an API call).

    Polling's first round starts there, so the app host's clock may be off by minutes. Raises
    when Salesforce cannot be reached (the runner tries again next round)."""
    token = auth.get_token()
    response = auth.http_session().get(
        f"{token.instance_url}/services/data/", timeout=conf.http_timeout_seconds()
    )
    response.raise_for_status()
    return email.utils.parsedate_to_datetime(response.headers["Date"]).astimezone(dt.UTC)


@dataclass
class PollState:
    """In-memory dedupe for the polling overlap window (restarts re-read it: workloads are idempotent)."""

    seen: dict[str, dt.datetime] = field(default_factory=dict)
    last_commit: dt.datetime | None = None  # the newest change handed to dispatch (for lag)


def poll_channel(entity: str) -> str:
    """Where an object's polling watermark is stored (``poll:Lead``)."""
    return f"poll:{entity}"


def poll_once(
    *,
    client: object,
    integration_user_id: str,
    state: PollState,
    start: dt.datetime,
    entities: tuple[str, ...] = RECONCILE_ENTITIES,
) -> int:
    """One polling round over ``entities``; returns the number of new change rows."""
    total = 0
    for entity in entities:
        channel = poll_channel(entity)
        position = inbox.replay_position_get(channel)
        watermark = position.watermark if position and position.watermark else start
        soql = (
            f"{select_clause(entity)} WHERE SystemModstamp >= {soql_datetime(watermark - POLL_OVERLAP)} "
            "ORDER BY SystemModstamp ASC, Id ASC"
        )
        records = client.query_all(soql)
        fresh: list[ParsedChange] = []
        newest = watermark
        for record in records:
            stamp = parse_sf_datetime(record.get("SystemModstamp"))
            if stamp is None:
                continue
            newest = max(newest, stamp)
            key = f"{record['Id']}"
            if state.seen.get(key) == stamp:
                continue
            state.seen[key] = stamp
            state.last_commit = max(state.last_commit or stamp, stamp)
            fresh.append(
                change_from_record(
                    entity,
                    record,
                    integration_user_id=integration_user_id,
                    change_type=_created_since(record, watermark),
                )
            )
        ids = inbox.events_store(changes=fresh, source="poll", watermark=(channel, newest))
        if ids:
            inbox.events_dispatch(event_ids=ids, integration_user_id=integration_user_id)
        total += len(ids)
    horizon = max(state.seen.values(), default=start) - 2 * POLL_OVERLAP
    state.seen = {key: stamp for key, stamp in state.seen.items() if stamp >= horizon}
    return total


def _created_since(record: dict, watermark: dt.datetime) -> str | None:
    """A record created at or after the watermark is new to the app whatever happened to it
    since (a rep may edit a lead before the next round): it is a CREATE, so it gets routed.
    Otherwise the change type is guessed from its dates (see ``change_from_record``)."""
    created = parse_sf_datetime(record.get("CreatedDate"))
    return "CREATE" if created is not None and created >= watermark else None
