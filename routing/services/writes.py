"""Owner writes to Salesforce: one sObject Collections call per 200 leads, results per lead."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence

from django.db import transaction

from routing import conf
from routing.choices import AssignmentStatus
from routing.models import Assignment, Rep

logger = logging.getLogger(__name__)


def owners_write(
    *, assignments: Sequence[Assignment], client: object, now: dt.datetime
) -> list[Assignment]:
    """Write OwnerId for ``assignments``; return those that failed (kept FAILED in the ledger,
    with the error, for the task's retry). Nothing is dropped silently."""
    pending = [a for a in assignments if a.owner_id]
    failed: list[Assignment] = []
    size = conf.write_batch_size()
    for start in range(0, len(pending), size):
        chunk = pending[start : start + size]
        records = [{"Id": a.lead_id, "OwnerId": a.owner_id} for a in chunk]
        try:
            errors = [_errors(result) for result in client.update_records("Lead", records)]
        except Exception as error:  # any failure leaves the leads FAILED for the task's retry
            logger.warning("owner write of %s leads failed: %s", len(chunk), error)
            # A batch interrupted part-way reports the records it did send (BatchInterrupted).
            errors = [_errors(result) for result in getattr(error, "completed", [])]
            errors += [f"{type(error).__name__}: {error}"] * (len(chunk) - len(errors))
        for row, error in zip(chunk, errors, strict=True):
            row.attempts += 1
            if error:
                row.status = AssignmentStatus.FAILED
                row.last_error = error[:2000]
                failed.append(row)
            else:
                row.status = AssignmentStatus.WRITTEN
                row.written_at = now
                row.last_error = ""
    _save(pending, now=now)
    return failed


OWNERS_SOQL = "SELECT Id, OwnerId FROM Lead WHERE Id IN ({ids})"


def owners_confirm(
    *, assignments: Sequence[Assignment], client: object, now: dt.datetime
) -> list[Assignment]:
    """Before writing again owners whose last attempt's outcome is unknown (a worker killed
    between the call and the ledger update, an error after Salesforce applied the write), read
    the leads' owners (one query per 200 leads) and return only the rows still to write. A lead
    that already has its owner is recorded WRITTEN without a second write; one a rep owns by now
    (a human moved it meanwhile) keeps that rep. When the read fails, every row is written."""
    rows = [a for a in assignments if a.owner_id]
    if not rows:
        return list(assignments)
    try:
        found = client.query_ids(OWNERS_SOQL, [a.lead_id for a in rows])
    except Exception as error:  # the write that follows is idempotent in value
        logger.warning("owners of %s leads to retry not read: %s", len(rows), error)
        return list(assignments)
    owners = {str(r.get("Id")): str(r.get("OwnerId") or "") for r in found}
    reps = set(
        Rep.objects.filter(user_id__in=set(owners.values())).values_list("user_id", flat=True)
    )
    done, moved, todo = [], [], []
    for row in assignments:
        owner = owners.get(row.lead_id, "")
        if row.owner_id and owner == row.owner_id:
            row.status, row.written_at, row.last_error = AssignmentStatus.WRITTEN, now, ""
            done.append(row)
        elif row.owner_id and owner in reps and owner != conf.integration_user_id():
            moved.append((row, owner))
        else:
            todo.append(row)
    if done:
        logger.info("%s owner(s) already in Salesforce: recorded without a second write", len(done))
        _save(done, now=now)
    for row, owner in moved:
        _respect_owner(row, owner)
    return todo


def _respect_owner(row: Assignment, owner: str) -> None:
    row.status = AssignmentStatus.OVERRIDDEN
    row.current_owner_id = owner
    row.notes = f"{row.notes}\nOwned by rep {owner} before the owner write was confirmed; kept."
    row.save(update_fields=["status", "current_owner_id", "notes"])


def _errors(result: object) -> str:
    if getattr(result, "success", False):
        return ""
    problems = getattr(result, "errors", None) or [{"message": "unknown error"}]
    return "; ".join(
        f"{p.get('statusCode') or p.get('errorCode') or 'ERROR'}: {p.get('message', '')}"
        for p in problems
    )


@transaction.atomic
def _save(rows: Sequence[Assignment], *, now: dt.datetime) -> None:
    """One UPDATE for the written rows and one per distinct error (not one per row)."""
    by_outcome: dict[tuple[str, str, int], list[str]] = defaultdict(list)
    for row in rows:
        by_outcome[(row.status, row.last_error, row.attempts)].append(row.lead_id)
    for (status, error, attempts), lead_ids in by_outcome.items():
        written_at = now if status == AssignmentStatus.WRITTEN else None
        for start in range(0, len(lead_ids), 500):
            Assignment.objects.filter(lead_id__in=lead_ids[start : start + 500]).update(
                status=status, last_error=error, attempts=attempts, written_at=written_at
            )
    _effects_record(rows, now=now)
    _facts_record(rows, now=now)


def _facts_record(rows: Sequence[Assignment], *, now: dt.datetime) -> None:
    """Tell TTFR when each written lead was assigned, to whom and in which team."""
    from ttfr.services import AssignmentIn, lead_facts_assignments_record

    written = [row for row in rows if row.status == AssignmentStatus.WRITTEN]
    if not written:
        return
    teams = dict(
        Rep.objects.filter(user_id__in={row.owner_id for row in written}).values_list(
            "user_id", "team"
        )
    )
    lead_facts_assignments_record(
        assignments=[
            AssignmentIn(
                lead_id=row.lead_id,
                assigned_at=now,
                owner_id=row.owner_id,
                team=teams.get(row.owner_id, ""),
                segment=row.segment,
                region=row.region,
            )
            for row in written
        ]
    )


def _effects_record(rows: Sequence[Assignment], *, now: dt.datetime) -> None:
    """One bulk effect write per batch (not one locked read and update per decision)."""
    from flywheel.services import decision_effects_record

    final = conf.max_write_attempts()
    effects: dict[int, dict] = {}
    for row in rows:
        if row.status == AssignmentStatus.WRITTEN:
            effect = {"owner_written": row.owner_id, "written_at": now.isoformat()}
        elif row.attempts >= final:
            effect = {"owner_write_failed": row.last_error[:500], "attempts": row.attempts}
            _give_up(row)
        else:
            continue
        if row.decision_id is not None:
            effects[row.decision_id] = effect
    decision_effects_record(effects=effects)


def _give_up(row: Assignment) -> None:
    """Out of retries: the lead stays FAILED in the ledger and lands in the dead letters."""
    from salesforce.models import DeadLetter

    logger.error("lead %s: owner write gave up after %s attempts", row.lead_id, row.attempts)
    DeadLetter.objects.create(
        source="routing",
        reason=f"Owner {row.owner_id} not written to lead {row.lead_id} after "
        f"{row.attempts} attempts: {row.last_error[:500]}",
        payload={"lead_id": row.lead_id, "owner_id": row.owner_id, "decision_id": row.decision_id},
    )


def owners_retry(*, lead_ids: Sequence[str], client: object, now: dt.datetime) -> int:
    """Operator retry of FAILED owner writes (also after the automatic retries ran out);
    returns how many were written."""
    rows = list(
        Assignment.objects.filter(lead_id__in=list(lead_ids), status=AssignmentStatus.FAILED)
    )
    failed = owners_write(assignments=rows, client=client, now=now)
    return len(rows) - len(failed)
