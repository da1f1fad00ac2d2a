"""SLA breaches: unanswered leads whose business time elapsed exceeds their SLA.

Off by default (``TTFR_SLA_ACTIONS = []``): the fact table's breach flags are refreshed either
way. ``notify`` logs a warning and keeps a ``SlaBreach`` row the dashboard lists; ``reassign``
hands the lead to the next member of the owner's routing pool (the one after the owner, in the
pool's member order, wrapping round), decided through the flywheel gateway (workload "sla") and
written in one Collections update. A lead breaches once: its ``SlaBreach`` row is the key.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.db import transaction

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
    "properties": {"owner_id": {"type": "string"}, "reason": {"type": "string"}},
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


@transaction.atomic
def sla_breaches_check(
    *,
    client: SalesforceClient,
    now: dt.datetime,
    pools_get: PoolsGetter = _active_pools,
) -> list[SlaBreach]:
    """Refresh the breach flags of recent unanswered leads and act on the new breaches."""
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
    breached = [f for f in facts if f.sla_breached]
    if not actions or not breached:
        return []
    breaches = [_breach(fact, actions=actions, now=now, calendars=calendars) for fact in breached]
    if "reassign" in actions:
        _reassign(client=client, breaches=breaches, facts=breached, pools=pools_get())
    SlaBreach.objects.bulk_create(breaches)
    return breaches


def _breach(
    fact: LeadFact,
    *,
    actions: frozenset[str],
    now: dt.datetime,
    calendars: Mapping[str, BusinessCalendar],
) -> SlaBreach:
    calendar = calendars.get(fact.team) or calendars.get(fact.region) or conf.calendar_for("")
    elapsed = business_minutes(start=fact.created_at, end=now, calendar=calendar)
    if "notify" in actions:
        logger.warning(
            "SLA breach: lead %s (owner %s, team %s) unanswered after %s business minutes",
            fact.lead_id,
            fact.owner_id or "unknown",
            fact.team or "unknown",
            elapsed,
        )
    return SlaBreach(
        lead_id=fact.lead_id,
        owner_id=fact.owner_id,
        team=fact.team,
        segment=fact.segment,
        sla_minutes=fact.sla_minutes or conf.sla_minutes(fact.segment),
        business_minutes=elapsed,
        detected_at=now,
        actions=sorted(actions),
    )


def _reassign(
    *,
    client: SalesforceClient,
    breaches: list[SlaBreach],
    facts: list[LeadFact],
    pools: list[dict],
) -> None:
    decide, rules_type, effect_record = _gateway()
    writes: dict[str, tuple[SlaBreach, int | None]] = {}
    for breach, fact in zip(breaches, facts, strict=True):
        target = next_pool_member(
            pools=pools, owner_id=fact.owner_id, segment=fact.segment, region=fact.region
        )
        context = {
            "lead_id": fact.lead_id,
            "owner_id": fact.owner_id,
            "team": fact.team,
            "segment": fact.segment,
            "region": fact.region,
            "sla_minutes": breach.sla_minutes,
            "next_pool_member": target,
        }
        result = decide(
            workload="sla",
            subject_id=fact.lead_id,
            context=context,
            messages=_messages(context),
            prompt_version=PROMPT_VERSION,
            output_schema=OUTPUT_SCHEMA,
            rules=lambda ctx: rules_type(
                output={"owner_id": ctx["next_pool_member"], "reason": "sla_breach"},
                confidence=1.0 if ctx["next_pool_member"] else 0.0,
                explanation="Unanswered past its SLA: next member of the owner's pool."
                if ctx["next_pool_member"]
                else "Unanswered past its SLA, but the owner is in no pool with others.",
            ),
            use_llm=False,
        )
        breach.decision_id = result.decision_id
        owner = (result.output or {}).get("owner_id") or ""
        if owner and owner != fact.owner_id:
            writes[fact.lead_id] = (breach, result.decision_id)
            breach.new_owner_id = owner
        else:
            breach.note = "No other pool member to reassign to."
    if not writes:
        return
    records = [{"Id": lead_id, "OwnerId": b.new_owner_id} for lead_id, (b, _) in writes.items()]
    for result in client.update_records("Lead", records):
        breach, decision_id = writes.get(result.id, (None, None))
        if breach is None:
            continue
        if result.success:
            effect_record(decision_id=decision_id, effect={"owner_written": breach.new_owner_id})
        else:
            breach.note = f"Reassignment failed: {result.errors}"[:255]
            breach.new_owner_id = ""


def _messages(context: dict) -> list[dict]:
    return [
        {
            "role": "system",
            "content": "A lead was not answered within its SLA. Choose the user to reassign it "
            "to: the next member of the owner's pool, or keep the owner when there is none.",
        },
        {"role": "user", "content": json.dumps(context, sort_keys=True)},
    ]
