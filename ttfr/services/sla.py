"""SLA breaches: unanswered leads whose business time elapsed exceeds their SLA.

Off by default (``TTFR_SLA_ACTIONS = []``): the fact table's breach flags are refreshed either
way. With actions, every new breach is a ``SlaBreach`` row (the dashboard lists them) and a
decision of the flywheel gateway (workload "sla"). The owner is the lead's current owner (routing's
``Assignment.current_owner_id``, which follows human reassignments), else the owner at assignment.
``notify`` emails the owner's manager (the owner's ``ManagerId`` in Salesforce), one email per
manager per check listing their team's breaches, through the Simple Email Action (not linked to
the leads, so it is no touch on them); ``reassign`` hands the lead to the next member of the
owner's routing pool (the one after the owner, in the pool's member order, wrapping round; when
the current owner is in no pool, the one after the owner routing chose), written in one
Collections update. A lead breaches once: its ``SlaBreach`` row is the key, committed before
Salesforce is called, so a crash after the writes never reassigns or emails twice.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.db import transaction

from salesforce.auth import SalesforceError
from ttfr import conf
from ttfr.hours import BusinessCalendar, business_minutes
from ttfr.models import LeadFact, SlaBreach
from ttfr.services.detect import SalesforceClient
from ttfr.services.facts import fact_derive

logger = logging.getLogger(__name__)
LOOKBACK = dt.timedelta(days=7)
PROMPT_VERSION = "sla-v1"
OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "owner_id": {"type": "string"},
        "notify_manager": {"type": "boolean"},
        "reason": {"type": "string"},
    },
    "required": ["owner_id"],
}
PoolsGetter = Callable[[], list[dict]]


def next_pool_member(*, pools: Sequence[dict], owner_id: str, segment: str, region: str) -> str:
    """The member after ``owner_id`` in the first pool that holds them, preferring the pool of
    the lead's segment and region; "" when the owner is in no pool or alone in it."""
    holding = [p for p in pools if owner_id in [m["user_id"] for m in p.get("members", [])]]
    holding.sort(key=lambda p: (p.get("segment") != segment, p.get("region") != region))
    for pool in holding:
        members = [m["user_id"] for m in pool["members"]]
        following = members[members.index(owner_id) + 1 :] + members[: members.index(owner_id)]
        if following:
            return following[0]
    return ""


def _active_pools() -> list[dict]:
    from routing.selectors import NoActivePolicy, policy_active_get

    try:
        return list((policy_active_get().snapshot or {}).get("pools", []))
    except NoActivePolicy:
        return []


def _gateway() -> tuple[Callable[..., Any], type, Callable[..., Any]]:
    from flywheel.gateway import Rules, decide
    from flywheel.services import decision_effect_record

    return decide, Rules, decision_effect_record


def sla_breaches_check(
    *,
    client: SalesforceClient,
    now: dt.datetime,
    pools_get: PoolsGetter = _active_pools,
) -> list[SlaBreach]:
    """Refresh the breach flags of recent unanswered leads and act on the new breaches.

    Run it outside a transaction (the scheduled task does): the new breaches commit before
    Salesforce is called, which is what keeps a crash from acting on a lead twice."""
    breaches = _breaches_record(now=now, pools_get=pools_get)
    actions = conf.sla_actions()
    if "reassign" in actions:
        _reassign(client=client, breaches=breaches)
    if "notify" in actions:
        _notify(client=client, breaches=breaches)
    SlaBreach.objects.bulk_update(breaches, ["new_owner_id", "notified_to", "note"])
    return breaches


@transaction.atomic
def _breaches_record(*, now: dt.datetime, pools_get: PoolsGetter) -> list[SlaBreach]:
    """Flags refreshed, new breaches decided and stored; the locks end here, before any call."""
    facts = list(
        LeadFact.objects.select_for_update()
        .filter(
            first_response_at__isnull=True,
            created_at__gte=now - LOOKBACK,
            is_deleted=False,
            is_converted=False,
        )
        .exclude(lead_id__in=SlaBreach.objects.values("lead_id"))
    )
    calendars = conf.calendars()
    for fact in facts:
        fact_derive(fact=fact, calendars=calendars, now=now)
    LeadFact.objects.bulk_update(facts, ["sla_minutes", "sla_breached", "sla_breached_raw"])
    actions = conf.sla_actions()
    # A check that waited for our locks sees breaches committed meanwhile (a new statement).
    taken = set(
        SlaBreach.objects.filter(lead_id__in=[f.lead_id for f in facts]).values_list(
            "lead_id", flat=True
        )
    )
    breached = [f for f in facts if f.sla_breached and f.lead_id not in taken]
    if not actions or not breached:
        return []
    owners = _current_owners(breached)
    breaches = [
        _breach(fact, owner_id=owners[fact.lead_id], actions=actions, now=now, calendars=calendars)
        for fact in breached
    ]
    _decide(breaches=breaches, facts=breached, pools=pools_get(), actions=actions)
    return SlaBreach.objects.bulk_create(breaches)


def _current_owners(facts: list[LeadFact]) -> dict[str, str]:
    """Each lead's owner as routing last saw it (one query), else its owner at assignment."""
    from routing.selectors import assignments_by_lead

    rows = assignments_by_lead(lead_ids=[f.lead_id for f in facts])
    current = {lead_id: row.current_owner_id for lead_id, row in rows.items()}
    return {f.lead_id: current.get(f.lead_id) or f.owner_id for f in facts}


def reassign_target(
    *, pools: Sequence[dict], owner_id: str, assigned_owner_id: str, segment: str, region: str
) -> str:
    """The pool member after the current owner; when the current owner is in no pool (a manager
    handed the lead to someone outside routing), the member after the owner routing chose."""
    if any(owner_id in [m["user_id"] for m in p.get("members", [])] for p in pools):
        return next_pool_member(pools=pools, owner_id=owner_id, segment=segment, region=region)
    target = next_pool_member(
        pools=pools, owner_id=assigned_owner_id, segment=segment, region=region
    )
    return target if target != owner_id else ""


def _breach(
    fact: LeadFact,
    *,
    owner_id: str,
    actions: frozenset[str],
    now: dt.datetime,
    calendars: Mapping[str, BusinessCalendar],
) -> SlaBreach:
    calendar = calendars.get(fact.team) or calendars.get(fact.region) or conf.calendar_for("")
    elapsed = business_minutes(start=fact.created_at, end=now, calendar=calendar)
    return SlaBreach(
        lead_id=fact.lead_id,
        owner_id=owner_id,
        team=fact.team,
        segment=fact.segment,
        sla_minutes=fact.sla_minutes or conf.sla_minutes(fact.segment),
        business_minutes=elapsed,
        detected_at=now,
        actions=sorted(actions),
    )


def _decide(
    *,
    breaches: list[SlaBreach],
    facts: list[LeadFact],
    pools: list[dict],
    actions: frozenset[str],
) -> None:
    """One decision per breach: the owner to hand the lead to (the next pool member when
    ``reassign`` is on, else the owner stays) and whether the manager is told."""
    decide, rules_type, _ = _gateway()
    reassign = "reassign" in actions
    for breach, fact in zip(breaches, facts, strict=True):
        target = (
            reassign_target(
                pools=pools,
                owner_id=breach.owner_id,
                assigned_owner_id=fact.owner_id,
                segment=fact.segment,
                region=fact.region,
            )
            if reassign
            else ""
        )
        context = {
            "lead_id": fact.lead_id,
            "owner_id": breach.owner_id,
            "assigned_owner_id": fact.owner_id,
            "team": fact.team,
            "segment": fact.segment,
            "region": fact.region,
            "sla_minutes": breach.sla_minutes,
            "business_minutes": breach.business_minutes,
            "actions": sorted(actions),
            "next_pool_member": target,
        }
        result = decide(
            workload="sla",
            subject_id=fact.lead_id,
            context=context,
            messages=_messages(context),
            prompt_version=PROMPT_VERSION,
            output_schema=OUTPUT_SCHEMA,
            rules=_rules(rules_type),
            use_llm=False,
        )
        breach.decision_id = result.decision_id
        owner = (result.output or {}).get("owner_id") or ""
        if owner and owner != breach.owner_id:
            breach.new_owner_id = owner
            breach.note = "Reassignment not confirmed by Salesforce."
        elif reassign:
            breach.note = "No other pool member to reassign to."


def _rules(rules_type: type) -> Callable[[dict], Any]:
    def rules(ctx: dict) -> Any:
        target = ctx["next_pool_member"]
        notify = "notify" in ctx["actions"]
        if target:
            why = "Unanswered past its SLA: next member of the owner's pool."
        elif "reassign" in ctx["actions"]:
            why = "Unanswered past its SLA, but the owner is in no pool with others."
        else:
            why = "Unanswered past its SLA: the owner keeps it."
        return rules_type(
            output={
                "owner_id": target or ctx["owner_id"],
                "notify_manager": notify,
                "reason": "sla_breach",
            },
            confidence=1.0 if target or "reassign" not in ctx["actions"] else 0.0,
            explanation=why + (" The owner's manager is emailed." if notify else ""),
        )

    return rules


def _reassign(*, client: SalesforceClient, breaches: list[SlaBreach]) -> None:
    _, _, effect_record = _gateway()
    writes = {b.lead_id: b for b in breaches if b.new_owner_id}
    if not writes:
        return
    from routing.services.owners import owners_moved_record

    records = [{"Id": lead_id, "OwnerId": b.new_owner_id} for lead_id, b in writes.items()]
    moved: dict[str, str] = {}
    for result in client.update_records("Lead", records):
        breach = writes.get(result.id)
        if breach is None:
            continue
        if result.success:
            breach.note = ""
            moved[breach.lead_id] = breach.new_owner_id
            effect_record(
                decision_id=breach.decision_id, effect={"owner_written": breach.new_owner_id}
            )
        else:
            breach.note = f"Reassignment failed: {result.errors}"[:255]
            breach.new_owner_id = ""
    owners_moved_record(moves=moved, reason="Reassigned after its SLA breach")


MANAGERS_SOQL = (
    "SELECT Id, Name, ManagerId, Manager.Name, Manager.Email FROM User WHERE Id IN ({ids})"
)


def _notify(*, client: SalesforceClient, breaches: list[SlaBreach]) -> None:
    """Email each owner's manager the breaches of their reports (one email per manager), log a
    warning per breach either way. A breach whose owner is a queue or has no manager (or whose
    email failed) keeps a note saying so."""
    for breach in breaches:
        logger.warning(
            "SLA breach: lead %s (owner %s, team %s) unanswered after %s business minutes",
            breach.lead_id,
            breach.owner_id or "unknown",
            breach.team or "unknown",
            breach.business_minutes,
        )
    owners = sorted({b.owner_id for b in breaches if b.owner_id.startswith("005")})
    users = (
        {row["Id"][:15]: row for row in client.query_ids(MANAGERS_SOQL, owners)} if owners else {}
    )
    by_manager: dict[str, list[tuple[SlaBreach, str]]] = {}
    for breach in breaches:
        user = users.get(breach.owner_id[:15]) or {}
        email = ((user.get("Manager") or {}).get("Email") or "").strip()
        if not email:
            breach.note = (breach.note + " " if breach.note else "") + "No manager to notify."
            continue
        by_manager.setdefault(email, []).append((breach, user.get("Name") or breach.owner_id))
    if not by_manager:
        return
    inputs = [_manager_email(email, items) for email, items in by_manager.items()]
    try:
        results = client.send_email_simple(inputs)
    except SalesforceError as error:  # the breach rows are kept, the reason noted on each
        logger.warning("SLA breach emails not sent: %s", error)
        results = [{"isSuccess": False, "errors": [{"message": str(error)}]}] * len(inputs)
    _, _, effect_record = _gateway()
    for (email, items), result in zip(by_manager.items(), results, strict=True):
        for breach, _owner in items:
            if result.get("isSuccess"):
                breach.notified_to = email
                if breach.decision_id:
                    effect_record(
                        decision_id=breach.decision_id, effect={"manager_notified": email}
                    )
            else:
                breach.note = f"Manager email failed: {result.get('errors')}"[:255]


def _manager_email(email: str, items: list[tuple[SlaBreach, str]]) -> dict:
    lines = [
        f"- Lead {b.lead_id}, owner {owner}, unanswered after {b.business_minutes:.0f} business "
        f"minutes (SLA {b.sla_minutes} min)"
        + (f"; reassigned to {b.new_owner_id}" if b.new_owner_id else "")
        for b, owner in items
    ]
    count = len(items)
    return {
        "emailAddresses": email,
        "emailSubject": f"SLA breach: {count} lead{'s' if count != 1 else ''} not answered in time",
        "emailBody": "These leads owned by your team have had no first response within their SLA:\n"
        + "\n".join(lines),
    }


def _messages(context: dict) -> list[dict]:
    return [
        {
            "role": "system",
            "content": "A lead was not answered within its SLA. Choose the user to reassign it "
            "to: the next member of the owner's pool, or keep the owner when there is none.",
        },
        {"role": "user", "content": json.dumps(context, sort_keys=True)},
    ]
