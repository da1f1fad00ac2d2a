"""Human owner changes: respected, noted on the ledger, and turned into implicit labels."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat

from routing import conf
from routing.choices import AssignmentStatus
from routing.models import Assignment
from routing.selectors import assignments_by_lead


@dataclass(frozen=True, slots=True)
class OwnerChange:
    lead_id: str
    owner_id: str
    by: str
    at: object


def owner_changes_from_events(events: Iterable, *, integration_user_id: str) -> list[OwnerChange]:
    """The last human OwnerId change per lead in a batch of ChangeEvent rows."""
    latest: dict[str, OwnerChange] = {}
    for event in sorted(events, key=lambda e: e.id):
        owner = (event.fields or {}).get("OwnerId")
        if (
            event.entity != "Lead"
            or event.is_own_write
            or not owner
            or event.commit_user == integration_user_id
            or not event.change_type.endswith("UPDATE")
        ):
            continue
        latest[event.record_id] = OwnerChange(
            event.record_id, str(owner), event.commit_user, event.commit_timestamp
        )
    return list(latest.values())


@transaction.atomic
def owner_changes_record(*, events: Iterable) -> int:
    """Note each human reassignment once (a re-delivered event changes nothing) and label the
    routing decision 'incorrect' with the human's owner as the corrected output."""
    from flywheel.services import label_record

    changes = owner_changes_from_events(events, integration_user_id=conf.integration_user_id())
    rows = assignments_by_lead(lead_ids=[c.lead_id for c in changes])
    recorded = 0
    for change in changes:
        row = rows.get(change.lead_id)
        if row is None or row.current_owner_id == change.owner_id:
            continue
        previous = row.current_owner_id or "nobody"
        row.current_owner_id = change.owner_id
        row.overridden_by = change.by
        row.overridden_at = change.at
        row.notes = f"{row.notes}\nReassigned by {change.by} from {previous} to {change.owner_id}."
        if row.status != AssignmentStatus.RESPECTED:
            row.status = AssignmentStatus.OVERRIDDEN
        row.save()
        if row.decision_id is not None:
            label_record(
                decision_id=row.decision_id,
                verdict="incorrect",
                corrected_output=corrected_output(row=row, owner_id=change.owner_id),
                source="implicit",
            )
        recorded += 1
    return recorded


def owners_moved_record(*, moves: dict[str, str], reason: str) -> int:
    """Follow owner changes the app itself wrote (an SLA reassignment: not a routing mistake, so
    no label): the ledger's current owner, which capacity and later SLA checks read, and a note.
    One UPDATE per new owner; returns the rows changed."""
    changed = 0
    by_owner: dict[str, list[str]] = {}
    for lead_id, owner_id in moves.items():
        by_owner.setdefault(owner_id, []).append(lead_id)
    for owner_id, lead_ids in by_owner.items():
        changed += (
            Assignment.objects.filter(lead_id__in=lead_ids)
            .exclude(current_owner_id=owner_id)
            .update(
                current_owner_id=owner_id,
                notes=Concat(F("notes"), Value(f"\n{reason} to {owner_id}.")),
            )
        )
    return changed


def corrected_output(*, row: Assignment, owner_id: str) -> dict:
    return {
        "segment": row.segment or "UNKNOWN",
        "region": row.region or "UNKNOWN",
        "reason": "owner changed in Salesforce by a user",
        "owner_id": owner_id,
        "pool": row.pool or None,
        "priority": row.priority,
    }


class CorrectionNotWritten(RuntimeError):
    """Salesforce refused the corrected owner; the message says why."""


def owner_correction_push(*, decision_id: int, corrected_output: dict, client: object) -> bool:
    """A reviewer corrected a routing decision's owner: write it to the lead (True when written;
    False when there is nothing to do)."""
    from flywheel.services import decision_effect_record

    row = Assignment.objects.filter(decision_id=decision_id).first()
    owner = str((corrected_output or {}).get("owner_id") or "")
    if row is None or not owner or owner == row.current_owner_id:
        return False
    result = client.update_records("Lead", [{"Id": row.lead_id, "OwnerId": owner}])[0]
    if not result.success:
        messages = "; ".join(str(e.get("message", e)) for e in result.errors or [])
        raise CorrectionNotWritten(f"Lead {row.lead_id}: owner {owner} not written: {messages}")
    with transaction.atomic():
        row.notes = (
            f"{row.notes}\nOwner corrected in review from {row.current_owner_id} to {owner}."
        )
        row.current_owner_id = owner
        row.status = AssignmentStatus.OVERRIDDEN
        row.overridden_by = "review"
        row.save()
        decision_effect_record(decision_id=decision_id, effect={"owner_corrected": owner})
    return True
