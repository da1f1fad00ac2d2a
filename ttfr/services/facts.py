"""Writes to the lead fact table: assignment (from routing), creation (from Lead events) and the
first-response outcome (from detection and backfill). Derived columns are recomputed on every
write by ``fact_derive`` so they never disagree with the stored instants."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.db import transaction

from flywheel_site.bulk import rows_insert
from salesforce.records import parse_sf_datetime
from ttfr import conf
from ttfr.hours import BusinessCalendar, business_minutes
from ttfr.models import LeadFact
from ttfr.rules import LeadOutcome, minutes_between

BULK_BATCH = 500
_OUTCOME_FIELDS = [
    "created_at",
    "lead_source",
    "is_converted",
    "is_deleted",
    "first_response_at",
    "responder_id",
    "first_response_touch_id",
    "first_automated_at",
    "automated_user_id",
    "automated_touch_id",
]
_DERIVED_FIELDS = [
    "ttfr_minutes",
    "business_minutes",
    "assignment_delay_minutes",
    "human_delay_minutes",
    "sla_minutes",
    "sla_breached",
    "sla_breached_raw",
]


def _calendar(fact: LeadFact, calendars: Mapping[str, BusinessCalendar]) -> BusinessCalendar:
    return calendars.get(fact.team) or calendars.get(fact.region) or calendars[conf.DEFAULT_TEAM]


def fact_derive(
    *, fact: LeadFact, calendars: Mapping[str, BusinessCalendar], now: dt.datetime
) -> None:
    """Minutes, delays and SLA flags from the fact's instants. Business minutes use the calendar
    of the owner's team at assignment, else the lead's region, else the default calendar. An
    unanswered lead is in breach once the business time elapsed so far exceeds its SLA."""
    created, answered, assigned = fact.created_at, fact.first_response_at, fact.assigned_at
    fact.sla_minutes = conf.sla_minutes(fact.segment)
    if created is None:
        return
    calendar = _calendar(fact, calendars)
    end = answered or now
    fact.ttfr_minutes = minutes_between(created, answered) if answered else None
    fact.business_minutes = (
        business_minutes(start=created, end=answered, calendar=calendar) if answered else None
    )
    fact.assignment_delay_minutes = (
        max(minutes_between(created, assigned), 0.0) if assigned else None
    )
    fact.human_delay_minutes = (
        max(minutes_between(assigned, answered), 0.0) if assigned and answered else None
    )
    elapsed = fact.business_minutes
    if elapsed is None:
        elapsed = business_minutes(start=created, end=end, calendar=calendar)
    fact.sla_breached = elapsed > fact.sla_minutes
    fact.sla_breached_raw = minutes_between(created, end) > fact.sla_minutes


def _facts_by_lead(lead_ids: Iterable[str], *, for_update: bool = False) -> dict[str, LeadFact]:
    """Stored facts by lead id, each remembering its stored values (see ``_save``)."""
    rows = LeadFact.objects.filter(lead_id__in=list(set(lead_ids)))
    facts = {f.lead_id: f for f in (rows.select_for_update() if for_update else rows)}
    for fact in facts.values():
        fact._stored = {f.attname: getattr(fact, f.attname) for f in LeadFact._meta.concrete_fields}
    return facts


def _changed(fact: LeadFact, fields: list[str]) -> bool:
    stored = getattr(fact, "_stored", {})
    return any(getattr(fact, name) != stored.get(name) for name in fields)


def _save(facts: list[LeadFact], *, existing: set[str], fields: list[str]) -> None:
    """Insert the new facts and update the stored ones whose ``fields`` changed (a rerun over
    the same history writes nothing)."""
    new = [f for f in facts if f.lead_id not in existing]
    old = [f for f in facts if f.lead_id in existing and _changed(f, fields)]
    stamp = dt.datetime.now(dt.UTC)
    for fact in old:
        fact.updated_at = stamp
    # A fact created meanwhile by another worker (routing's assignment) is updated, not duplicated.
    rows_insert(new, batch_size=BULK_BATCH, update_conflicts=(["lead_id"], fields))
    if old:
        LeadFact.objects.bulk_update(old, [*fields, "updated_at"], batch_size=BULK_BATCH)


@dataclass(frozen=True)
class AssignmentIn:
    lead_id: str
    assigned_at: dt.datetime
    owner_id: str
    team: str = ""
    segment: str = ""
    region: str = ""
    lead_source: str = ""
    created_at: dt.datetime | None = None


_ASSIGNMENT_FIELDS = ["assigned_at", "owner_id", "team", "segment", "region", "lead_source"]


def lead_fact_assignment_record(**fields: object) -> LeadFact:
    """Record one lead's assignment (see ``lead_facts_assignments_record``)."""
    item = AssignmentIn(**fields)  # type: ignore[arg-type]
    lead_facts_assignments_record(assignments=[item])
    return LeadFact.objects.get(lead_id=item.lead_id)


@transaction.atomic
def lead_facts_assignments_record(*, assignments: Sequence[AssignmentIn]) -> int:
    """Record assignments (routing calls this after writing owners): one read, one upsert.
    Idempotent: the first assignment is the one kept (an earlier ``assigned_at`` replaces a later
    one, a later one changes nothing); segment, region, source and creation fill in blanks."""
    existing = _facts_by_lead((a.lead_id for a in assignments), for_update=True)
    calendars, now = conf.calendars(), dt.datetime.now(dt.UTC)
    facts: dict[str, LeadFact] = {}
    for item in assignments:
        fact = facts.get(item.lead_id) or existing.get(item.lead_id)
        fact = fact or LeadFact(lead_id=item.lead_id)
        if fact.assigned_at is None or item.assigned_at < fact.assigned_at:
            fact.assigned_at, fact.owner_id, fact.team = item.assigned_at, item.owner_id, item.team
        fact.segment = fact.segment or item.segment
        fact.region = fact.region or item.region
        fact.lead_source = fact.lead_source or item.lead_source
        fact.created_at = fact.created_at or item.created_at
        fact_derive(fact=fact, calendars=calendars, now=now)
        facts[item.lead_id] = fact
    fields = [*_ASSIGNMENT_FIELDS, "created_at", *_DERIVED_FIELDS]
    _save(list(facts.values()), existing=set(existing), fields=fields)
    return len(facts)


@transaction.atomic
def lead_facts_created_record(*, leads: list[Mapping]) -> int:
    """Upsert creation date and source from Lead CREATE/UNDELETE payloads (REST-style fields)."""
    by_id = {row["Id"]: row for row in leads if parse_sf_datetime(row.get("CreatedDate"))}
    existing = _facts_by_lead(by_id)
    calendars, now = conf.calendars(), dt.datetime.now(dt.UTC)
    facts = []
    for lead_id, row in by_id.items():
        fact = existing.get(lead_id) or LeadFact(lead_id=lead_id)
        fact.created_at = parse_sf_datetime(row["CreatedDate"])
        fact.lead_source = row.get("LeadSource") or fact.lead_source
        fact.is_converted = bool(row.get("IsConverted", fact.is_converted))
        fact.is_deleted = False
        fact_derive(fact=fact, calendars=calendars, now=now)
        facts.append(fact)
    _save(facts, existing=set(existing), fields=_OUTCOME_FIELDS + _DERIVED_FIELDS)
    return len(facts)


@transaction.atomic
def lead_facts_outcomes_record(*, outcomes: list[LeadOutcome], now: dt.datetime) -> int:
    """Store each lead's first response and first automated touch (after a recompute)."""
    existing = _facts_by_lead(o.lead_id for o in outcomes)
    calendars = conf.calendars()
    facts = []
    for outcome in outcomes:
        fact = existing.get(outcome.lead_id) or LeadFact(lead_id=outcome.lead_id)
        human, machine = outcome.first.human, outcome.first.automated
        fact.created_at = outcome.created
        fact.lead_source = outcome.lead_source or fact.lead_source
        fact.is_converted = outcome.is_converted
        fact.is_deleted = False
        fact.first_response_at = human.at if human else None
        fact.responder_id = human.user_id if human else ""
        fact.first_response_touch_id = human.touch_id if human else ""
        fact.first_automated_at = machine.at if machine else None
        fact.automated_user_id = machine.user_id if machine else ""
        fact.automated_touch_id = machine.touch_id if machine else ""
        fact_derive(fact=fact, calendars=calendars, now=now)
        facts.append(fact)
    _save(facts, existing=set(existing), fields=_OUTCOME_FIELDS + _DERIVED_FIELDS)
    return len(facts)


def lead_facts_deleted_mark(*, lead_ids: Iterable[str]) -> int:
    return LeadFact.objects.filter(lead_id__in=list(lead_ids)).update(is_deleted=True)
