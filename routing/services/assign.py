"""Route new leads exactly once.

Per batch of change events: decide every unrouted lead in memory (rules; the LLM only for
ambiguous leads), then in one transaction re-check the ledger, record the decisions and insert one
``Assignment`` per lead (``lead_id`` is unique, so a lead is never routed twice), then write the
owners to Salesforce 200 leads per call. Writes that fail stay FAILED in the ledger and the task
raises, so django-q2's retry writes them (never decides them again).

Leads created already owned by a rep (an active or inactive ``Rep``, not the integration user)
are respected: the ledger notes them and nothing is written. Leads owned by a queue, the
integration user or any other user (web-to-lead, imports) are routed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from flywheel.gateway import DecisionResult
from flywheel_site.bulk import rows_insert
from flywheel_site.locks import keys_lock
from routing import conf
from routing.choices import AssignmentStatus
from routing.decisions import Case, decision_validate, decisions_record
from routing.engine.classify import Classification, classify
from routing.engine.distribute import Distributor
from routing.engine.policy import CompiledPolicy
from routing.engine.route import (
    Routed,
    route_ambiguous_fallback,
    route_classified,
    route_from_answer,
)
from routing.models import Assignment, PoolCursor
from routing.prompt import lead_context, system_prompt, user_message
from routing.selectors import (
    assignments_by_lead,
    cursor_map,
    open_lead_counts,
    policy_active_compiled,
    rep_hours_map,
)
from routing.services.writes import owners_confirm, owners_write

# GAP_* rows carry no fields; the listener refetches those records as "reconcile" rows.
ROUTABLE_CHANGES = frozenset({"CREATE", "UNDELETE"})
LLM_DECIDERS = frozenset({"llm", "model"})


@dataclass(frozen=True, slots=True)
class LeadIn:
    lead_id: str
    event_id: int
    fields: dict
    committed_at: dt.datetime | None = None  # the event's commit time (latency: event → owner)


@dataclass
class RouteReport:
    decided: int = 0
    respected: int = 0
    already_routed: int = 0
    written: int = 0
    failed: list[str] = field(default_factory=list)
    by_decider: dict[str, int] = field(default_factory=dict)


class OwnerWriteFailed(RuntimeError):
    """Some owner writes failed; the ledger has them as FAILED and the task's retry writes them."""


def leads_from_events(events: Iterable) -> list[LeadIn]:
    """The latest routable state of each lead in a batch of ChangeEvent rows."""
    latest: dict[str, LeadIn] = {}
    for event in sorted(events, key=lambda e: e.id):
        routable = event.change_type in ROUTABLE_CHANGES or event.source == "reconcile"
        if event.entity != "Lead" or event.is_own_write or not routable:
            continue
        latest[event.record_id] = LeadIn(
            event.record_id, event.id, dict(event.fields or {}), event.commit_timestamp
        )
    return list(latest.values())


def leads_route(*, events: Sequence, client: object, now: dt.datetime | None = None) -> RouteReport:
    """Route every lead of ``events`` that was never routed; retry unwritten owners."""
    now = now or timezone.now()
    report = RouteReport()
    leads = leads_from_events(events)
    if not leads:
        return report
    existing = assignments_by_lead(lead_ids=[lead.lead_id for lead in leads])
    retries = [row for row in existing.values() if _needs_write(row)]
    report.already_routed = len(existing) - len(retries)
    to_write = owners_confirm(assignments=retries, client=client, now=now)
    report.already_routed += len(retries) - len(to_write)
    new = [lead for lead in leads if lead.lead_id not in existing]
    if new:
        policy = policy_active_compiled()
        to_write += _route_new(policy=policy, leads=new, now=now, report=report)
    failed = owners_write(assignments=to_write, client=client, now=now)
    report.written = len(to_write) - len(failed)
    report.failed = [a.lead_id for a in failed]
    if any(a.attempts < conf.max_write_attempts() for a in failed):
        raise OwnerWriteFailed(f"{len(failed)} owner write(s) failed; the task will retry them.")
    return report


def _needs_write(row: Assignment) -> bool:
    if row.status == AssignmentStatus.PENDING:
        return True
    return row.status == AssignmentStatus.FAILED and row.attempts < conf.max_write_attempts()


@dataclass(slots=True)
class _Planned:
    row: Assignment
    routed: Routed | None = None
    case: Case | None = None


def _route_new(
    *, policy: CompiledPolicy, leads: list[LeadIn], now: dt.datetime, report: RouteReport
) -> list[Assignment]:
    """Decide in memory (the LLM, when needed, outside any transaction), then record decisions
    and ledger rows in one transaction that re-checks the ledger first."""
    since = now - dt.timedelta(days=conf.capacity_window_days())
    distributor = Distributor(
        policy=policy,
        reps=rep_hours_map(),
        open_leads=open_lead_counts(since=since),
        cursors=cursor_map(),
        now=now,
    )
    rep_ids = set(distributor.reps)
    integration = conf.integration_user_id()
    system = system_prompt(policy)
    planned: list[_Planned] = []
    for lead in leads:
        row = Assignment(
            lead_id=lead.lead_id, event_id=lead.event_id, event_committed_at=lead.committed_at
        )
        owner = str(lead.fields.get("OwnerId") or "")
        if owner in rep_ids and owner != integration:
            row.status = AssignmentStatus.RESPECTED
            row.owner_id = row.current_owner_id = owner
            row.notes = f"Owned by rep {owner} at creation; not routed."
            planned.append(_Planned(row))
            continue
        cls = classify(policy, lead.fields)
        context = lead_context(lead.fields, cls, lead_id=lead.lead_id)
        messages = [{"role": "system", "content": system}, user_message(context)]
        if not cls.ambiguous:
            routed = route_classified(cls, distributor)
            planned.append(_Planned(row, routed, _case(lead, context, messages, routed)))
            continue
        routed, result = _validate(lead, cls, context, messages, distributor)
        _apply(row, routed, result.decision_id, policy.version)
        report.by_decider[result.decided_by] = report.by_decider.get(result.decided_by, 0) + 1
        planned.append(_Planned(row))
    return _commit(planned=planned, distributor=distributor, report=report)


def _validate(
    lead: LeadIn, cls: Classification, context: dict, messages: list[dict], distributor: Distributor
) -> tuple[Routed, DecisionResult]:
    """An ambiguous lead: the LLM (or a local model) answers, else the fallback queue. Runs
    outside any transaction; if another worker routes the lead meanwhile, this decision stays
    unused (never a second assignment)."""
    fallback = route_ambiguous_fallback(cls, distributor)
    result = decision_validate(
        case=_case(lead, context, messages, fallback), policy_version=distributor.policy.version
    )
    if result.decided_by not in LLM_DECIDERS:
        return fallback, result
    answer = route_from_answer(cls, result.output, distributor, decided_by=result.decided_by)
    return answer, result


@transaction.atomic
def _commit(
    *, planned: list[_Planned], distributor: Distributor, report: RouteReport
) -> list[Assignment]:
    # Another worker may be routing the same leads (a re-delivered event in another batch): the
    # lock makes its ledger rows visible to the check below instead of failing this batch's insert.
    keys_lock(namespace="routing.assignment", keys=[p.row.lead_id for p in planned])
    taken = set(
        Assignment.objects.filter(lead_id__in=[p.row.lead_id for p in planned]).values_list(
            "lead_id", flat=True
        )
    )
    planned = [p for p in planned if p.row.lead_id not in taken]
    report.already_routed += len(taken)
    clear = [p for p in planned if p.case is not None]
    version = distributor.policy.version
    results = decisions_record(cases=[p.case for p in clear], policy_version=version)
    for item, result in zip(clear, results, strict=True):
        _apply(item.row, item.routed, result.decision_id, version)
    if clear:
        report.by_decider["rules"] = report.by_decider.get("rules", 0) + len(clear)
    rows = [p.row for p in planned]
    rows_insert(rows)
    cursors_save(positions={name: distributor.cursors[name] for name in distributor.touched})
    report.respected += sum(1 for r in rows if r.status == AssignmentStatus.RESPECTED)
    report.decided += sum(1 for r in rows if r.status == AssignmentStatus.PENDING)
    return [r for r in rows if r.status == AssignmentStatus.PENDING]


def _case(lead: LeadIn, context: dict, messages: list[dict], routed: Routed) -> Case:
    return Case(
        lead_id=lead.lead_id,
        context=context,
        messages=messages,
        output=routed.output(),
        confidence=routed.classification.confidence,
        explanation=routed.explanation(),
    )


def _apply(row: Assignment, routed: Routed, decision_id: int | None, version: int | None) -> None:
    cls = routed.classification
    row.status = AssignmentStatus.PENDING
    row.decision_id = decision_id
    row.policy_version = version
    row.segment = cls.segment
    row.region = cls.region
    row.pool = routed.choice.pool
    row.priority = cls.priority
    row.owner_id = routed.owner_id
    row.current_owner_id = routed.owner_id
    row.notes = routed.explanation()[:2000]


def cursors_save(*, positions: dict[str, int]) -> None:
    existing = {c.pool_name: c for c in PoolCursor.objects.filter(pool_name__in=list(positions))}
    # A pool's first cursor may be created by two workers at once (PostgreSQL): the first one
    # stands, the other's insert does nothing instead of failing its whole batch.
    PoolCursor.objects.bulk_create(
        [PoolCursor(pool_name=n, position=p) for n, p in positions.items() if n not in existing],
        ignore_conflicts=True,
    )
    for name, cursor in existing.items():
        if cursor.position != positions[name]:
            cursor.position = positions[name]
            cursor.save(update_fields=["position"])
