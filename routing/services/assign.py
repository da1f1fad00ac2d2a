"""Route new leads exactly once: claim them in the ledger, decide, write owners in batches."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from routing import conf
from routing.choices import AssignmentStatus
from routing.decisions import Case, decision_validate, decisions_record
from routing.engine.classify import classify
from routing.engine.distribute import Distributor
from routing.engine.policy import CompiledPolicy, compiled_for_version
from routing.engine.route import (
    Routed,
    route_ambiguous_fallback,
    route_classified,
    route_from_answer,
)
from routing.models import Assignment, PoolCursor, Rep
from routing.prompt import lead_context, system_prompt, user_message
from routing.selectors import (
    assignments_by_lead,
    cursor_map,
    open_lead_counts,
    policy_active_get,
    rep_hours_map,
)
from routing.services.writes import owners_write

logger = logging.getLogger(__name__)
ROUTABLE_CHANGES = frozenset({"CREATE", "UNDELETE", "GAP_CREATE", "GAP_UNDELETE"})
LLM_DECIDERS = frozenset({"llm", "model"})


@dataclass(frozen=True, slots=True)
class LeadIn:
    lead_id: str
    event_id: int
    fields: dict


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
        latest[event.record_id] = LeadIn(event.record_id, event.id, dict(event.fields or {}))
    return list(latest.values())


def leads_route(*, events: Sequence, client: object, now: dt.datetime | None = None) -> RouteReport:
    """Route every lead of ``events`` that was never routed; retry unwritten owners."""
    now = now or timezone.now()
    report = RouteReport()
    leads = leads_from_events(events)
    if not leads:
        return report
    to_decide, to_write = _claim(leads=leads, report=report)
    if to_decide:
        policy_row = policy_active_get()
        policy = compiled_for_version(policy_row.version)
        to_write += _decide(policy=policy, items=to_decide, now=now, report=report)
    failed = owners_write(assignments=to_write, client=client, now=now)
    report.written = sum(1 for a in to_write if a.status == AssignmentStatus.WRITTEN)
    report.failed = [a.lead_id for a in failed]
    if any(a.attempts < conf.max_write_attempts() for a in failed):
        raise OwnerWriteFailed(f"{len(failed)} owner write(s) failed; the task will retry them.")
    return report


@transaction.atomic
def _claim(
    *, leads: list[LeadIn], report: RouteReport
) -> tuple[list[tuple[LeadIn, Assignment]], list[Assignment]]:
    """Insert one ledger row per new lead inside the transaction that checks for it, so two
    deliveries of the same lead can never both route it."""
    existing = assignments_by_lead(lead_ids=[lead.lead_id for lead in leads])
    rep_ids = set(Rep.objects.values_list("user_id", flat=True))
    integration = conf.integration_user_id()
    new_rows, to_decide, to_write = [], [], []
    for lead in leads:
        row = existing.get(lead.lead_id)
        if row is None:
            row = _new_row(lead, rep_ids=rep_ids, integration=integration)
            new_rows.append(row)
            if row.status == AssignmentStatus.RESPECTED:
                report.respected += 1
                continue
            to_decide.append((lead, row))
        elif row.status == AssignmentStatus.PENDING and not row.owner_id:
            to_decide.append((lead, row))
        elif row.status == AssignmentStatus.PENDING or (
            row.status == AssignmentStatus.FAILED and row.attempts < conf.max_write_attempts()
        ):
            to_write.append(row)
        else:
            report.already_routed += 1
    Assignment.objects.bulk_create(new_rows)
    return to_decide, to_write


def _new_row(lead: LeadIn, *, rep_ids: set[str], integration: str) -> Assignment:
    owner = str(lead.fields.get("OwnerId") or "")
    if owner in rep_ids and owner != integration:
        return Assignment(
            lead_id=lead.lead_id,
            event_id=lead.event_id,
            status=AssignmentStatus.RESPECTED,
            owner_id=owner,
            current_owner_id=owner,
            notes=f"Owned by rep {owner} at creation; not routed.",
        )
    return Assignment(lead_id=lead.lead_id, event_id=lead.event_id, status=AssignmentStatus.PENDING)


def _decide(
    *,
    policy: CompiledPolicy,
    items: list[tuple[LeadIn, Assignment]],
    now: dt.datetime,
    report: RouteReport,
) -> list[Assignment]:
    since = now - dt.timedelta(days=conf.capacity_window_days())
    distributor = Distributor(
        policy=policy,
        reps=rep_hours_map(),
        open_leads=open_lead_counts(since=since),
        cursors=cursor_map(),
        now=now,
    )
    system = system_prompt(policy)
    clear: list[tuple[Assignment, Routed, Case]] = []
    decided: list[Assignment] = []
    for lead, row in items:
        cls = classify(policy, lead.fields)
        context = lead_context(lead.fields, cls)
        messages = [{"role": "system", "content": system}, user_message(context)]
        if not cls.ambiguous:
            routed = route_classified(cls, distributor)
            clear.append((row, routed, _case(lead, context, messages, routed)))
            continue
        fallback = route_ambiguous_fallback(cls, distributor)
        result = decision_validate(
            case=_case(lead, context, messages, fallback), policy_version=policy.version
        )
        if result.decided_by in LLM_DECIDERS:
            routed = route_from_answer(
                cls, result.output, distributor, decided_by=result.decided_by
            )
        else:
            routed = fallback
        _apply(row, routed, result.decision_id, policy.version, now)
        report.by_decider[result.decided_by] = report.by_decider.get(result.decided_by, 0) + 1
        decided.append(row)
    results = decisions_record(cases=[case for _, _, case in clear], policy_version=policy.version)
    for (row, routed, _), result in zip(clear, results, strict=True):
        _apply(row, routed, result.decision_id, policy.version, now)
        decided.append(row)
    if clear:
        report.by_decider["rules"] = report.by_decider.get("rules", 0) + len(clear)
    report.decided += len(decided)
    _save_decided(decided, distributor)
    return decided


def _case(lead: LeadIn, context: dict, messages: list[dict], routed: Routed) -> Case:
    return Case(
        lead_id=lead.lead_id,
        context=context,
        messages=messages,
        output=routed.output(),
        confidence=routed.classification.confidence,
        explanation=routed.explanation(),
    )


def _apply(
    row: Assignment, routed: Routed, decision_id: int | None, version: int | None, now: dt.datetime
) -> None:
    cls = routed.classification
    row.decision_id = decision_id
    row.policy_version = version
    row.segment = cls.segment
    row.region = cls.region
    row.pool = routed.choice.pool
    row.priority = cls.priority
    row.owner_id = routed.owner_id
    row.current_owner_id = routed.owner_id
    row.notes = routed.explanation()[:2000]


@transaction.atomic
def _save_decided(rows: list[Assignment], distributor: Distributor) -> None:
    Assignment.objects.bulk_update(
        rows,
        [
            "decision_id",
            "policy_version",
            "segment",
            "region",
            "pool",
            "priority",
            "owner_id",
            "current_owner_id",
            "notes",
        ],
        batch_size=500,
    )
    cursors_save(positions={name: distributor.cursors[name] for name in distributor.touched})


def cursors_save(*, positions: dict[str, int]) -> None:
    existing = {c.pool_name: c for c in PoolCursor.objects.filter(pool_name__in=list(positions))}
    for name, position in positions.items():
        cursor = existing.get(name)
        if cursor is None:
            PoolCursor.objects.create(pool_name=name, position=position)
        elif cursor.position != position:
            cursor.position = position
            cursor.save(update_fields=["position"])
