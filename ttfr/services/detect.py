"""Incremental first-response detection: change events → affected leads → batched queries →
rules → one Collections update for the leads whose values changed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from flywheel_site.locks import keys_locked
from salesforce.ids import is_salesforce_id
from salesforce.models import ChangeEvent
from ttfr import conf, rules, selectors, sources
from ttfr.services import facts

logger = logging.getLogger(__name__)
ACTIVITY_ENTITIES = ("Task", "EmailMessage")
LOCKED_LEADS = 200  # leads recomputed under one set of locks: a Collections write's worth


class SalesforceClient(sources.QueryClient, Protocol):
    def update_records(self, sobject: str, records: list[dict]) -> list: ...

    def send_email_simple(self, inputs: list[dict]) -> list[dict]: ...


@dataclass
class DetectResult:
    leads: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    deleted: int = 0


def outcomes_write(
    *, client: SalesforceClient, outcomes: Sequence[rules.LeadOutcome]
) -> tuple[int, list[str]]:
    """One Collections update (chunked by the client at 200) for the changed leads.
    Converted leads are read-only in Salesforce and are not written. Returns how many were
    written and the ids of the leads whose write failed."""
    records = [{"Id": o.lead_id, **o.values} for o in outcomes if o.changed and not o.is_converted]
    if not records:
        return 0, []
    results = client.update_records("Lead", records)
    failed = [r for r in results if not r.success]
    for result in failed:
        logger.warning("first response not written to lead %s: %s", result.id, result.errors)
    return len(records) - len(failed), [str(r.id) for r in failed]


def leads_recompute(
    *, client: SalesforceClient, lead_ids: Iterable[str], now: dt.datetime
) -> DetectResult:
    """Recompute the first response of these leads from their current touches and write the
    changed ones. Leads Salesforce no longer returns are marked deleted in the fact table.

    On PostgreSQL, two workers recomputing the same lead at once (two batches with touches of
    it, a batch the sweep re-runs) take turns: each holds the leads' locks from its read to its
    write, so the second reads what the first wrote and writes nothing. The leads go 200 at a
    time (one composite read, one Collections write), so a worker holds at most 200 of those
    locks: PostgreSQL's lock table is shared by every connection (docs/OPERATIONS.md)."""
    ordered = sorted(set(lead_ids))
    total = DetectResult()
    for start in range(0, len(ordered), LOCKED_LEADS):
        wanted = set(ordered[start : start + LOCKED_LEADS])
        with keys_locked(namespace="ttfr.first_response", keys={lead[:15] for lead in wanted}):
            part = _recompute(client=client, wanted=wanted, now=now)
        for name in (f.name for f in dataclasses.fields(DetectResult)):
            setattr(total, name, getattr(total, name) + getattr(part, name))
    return total


def _recompute(*, client: SalesforceClient, wanted: set[str], now: dt.datetime) -> DetectResult:
    leads, rows = sources.leads_with_touch_rows(client=client, lead_ids=wanted)
    touches = rules.touches_from_rows(
        tasks=rows.tasks, relations=rows.relations, activity_emails=rows.activity_emails
    )
    outcomes = rules.leads_outcomes(
        leads=leads, touches=touches, automated=conf.automated_senders()
    )
    written, failed_ids = outcomes_write(client=client, outcomes=outcomes)
    facts.lead_facts_outcomes_record(outcomes=outcomes, now=now)
    found = {lead["Id"][:15] for lead in leads}
    gone = [lead_id for lead_id in wanted if lead_id[:15] not in found]
    facts.lead_facts_deleted_mark(lead_ids=gone)
    return DetectResult(
        leads=len(outcomes),
        updated=written,
        unchanged=sum(1 for o in outcomes if not o.changed),
        failed=len(failed_ids),
        deleted=len(gone),
    )


def _task_leads(*, client: SalesforceClient, known: dict[str, str], unknown: set[str]) -> set[str]:
    """Leads of tasks: from event payloads, else the inbox, else one query for the rest."""
    who = dict(known)
    seen = selectors.inbox_field_values(entity="Task", record_ids=unknown, field="WhoId")
    who.update(seen)
    who.update(sources.task_leads_get(client=client, task_ids=unknown - set(seen)))
    return {lead for lead in who.values() if rules.is_lead_id(lead)}


def activity_leads(*, client: SalesforceClient, events: Sequence[ChangeEvent]) -> set[str]:
    """Every lead whose touches these Task / EmailMessage events may have changed."""
    activity = [e for e in events if e.entity in ACTIVITY_ENTITIES]
    leads = selectors.leads_counting_touches(touch_ids=[e.record_id for e in activity])
    live = [e for e in activity if e.change_type != "DELETE"]
    task_who = {e.record_id: e.fields["WhoId"] for e in live if "WhoId" in (e.fields or {})}
    unknown_tasks = {e.record_id for e in live if e.entity == "Task"} - set(task_who)
    email_ids = {e.record_id for e in live if e.entity == "EmailMessage"}
    relations = sources.email_relations_get(client=client, email_ids=email_ids)
    leads |= {r["RelationId"] for r in relations if rules.is_lead_id(r.get("RelationId"))}
    activity_ids = {
        e.record_id: e.fields["ActivityId"]
        for e in live
        if e.entity == "EmailMessage" and (e.fields or {}).get("ActivityId")
    }
    activity_ids.update(
        selectors.inbox_field_values(
            entity="EmailMessage", record_ids=email_ids - set(activity_ids), field="ActivityId"
        )
    )
    # Only ids: a malformed ActivityId (a list, say) in a payload must not stop the batch.
    unknown_tasks |= {task_id for task_id in activity_ids.values() if is_salesforce_id(task_id)}
    leads |= _task_leads(client=client, known=task_who, unknown=unknown_tasks - set(task_who))
    return leads


def activity_process(
    *, client: SalesforceClient, events: Sequence[ChangeEvent], now: dt.datetime
) -> DetectResult:
    """Handle a batch of Task / EmailMessage / Lead events (Lead UPDATEs, the app's own writes
    among them, are ignored: first responses never depend on the lead's own fields)."""
    lead_events = [e for e in events if e.entity == "Lead"]
    created = [
        {**(e.fields or {}), "Id": e.record_id} for e in lead_events if e.change_type == "CREATE"
    ]
    facts.lead_facts_created_record(leads=created)
    last_state = {
        e.record_id: e.change_type
        for e in sorted(lead_events, key=lambda e: e.id)
        if e.change_type in ("DELETE", "UNDELETE")
    }
    deleted = {lead_id for lead_id, change in last_state.items() if change == "DELETE"}
    undeleted = set(last_state) - deleted
    facts.lead_facts_deleted_mark(lead_ids=deleted)
    affected = (activity_leads(client=client, events=events) | undeleted) - deleted
    result = leads_recompute(client=client, lead_ids=affected, now=now)
    result.deleted += len(deleted)
    return result
