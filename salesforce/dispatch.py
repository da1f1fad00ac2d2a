"""Which workload handles which change: one pure function, so the rules are easy to read and test."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

ROUTE_LEADS = "routing.tasks.route_leads"
OWNER_CHANGES = "routing.tasks.record_owner_changes"
SUGGEST_TEMPLATES = "templates_app.tasks.suggest_templates"
PROCESS_ACTIVITY = "ttfr.tasks.process_activity"
MATCH_SENT_EMAILS = "templates_app.tasks.match_sent_emails"
# The order one batch's task (``salesforce.workloads.run_workloads``) runs them in: routing first, so
# a lead's owner is written before the other workloads of its batch start.
WORKLOAD_TASKS = (
    ROUTE_LEADS,
    OWNER_CHANGES,
    SUGGEST_TEMPLATES,
    PROCESS_ACTIVITY,
    MATCH_SENT_EMAILS,
)


@dataclass(frozen=True)
class EventView:
    """The parts of a stored change event that decide where it goes."""

    id: int
    entity: str
    change_type: str
    changed_fields: tuple[str, ...]
    commit_user: str
    is_own_write: bool
    source: str


def workloads_for(event: EventView, *, integration_user_id: str) -> tuple[str, ...]:
    """The task paths that must see this event (empty when nothing should happen)."""
    change = event.change_type
    if change.startswith("GAP_"):
        return ()  # gap rows carry no fields: the listener reconciles them into full rows
    if event.entity == "Lead":
        if change in ("CREATE", "UNDELETE") or event.source == "reconcile":
            if event.is_own_write:
                return (PROCESS_ACTIVITY,)
            return (ROUTE_LEADS, SUGGEST_TEMPLATES, PROCESS_ACTIVITY)
        if change == "DELETE":
            return (PROCESS_ACTIVITY,)
        if change == "UPDATE" and not event.is_own_write:
            by_human = event.commit_user != integration_user_id
            owner_changed = "OwnerId" in event.changed_fields or event.source == "poll"
            return (OWNER_CHANGES,) if by_human and owner_changed else ()
        return ()
    if event.entity == "EmailMessage" and change == "CREATE" and not event.is_own_write:
        return (PROCESS_ACTIVITY, MATCH_SENT_EMAILS)  # a rep's email: which template did they use?
    if event.entity in ("Task", "EmailMessage"):
        return (PROCESS_ACTIVITY,)
    return ()


def plan_dispatch(events: Iterable[EventView], *, integration_user_id: str) -> dict[str, list[int]]:
    """Group event ids by task so each workload gets one task per batch."""
    plan: dict[str, list[int]] = defaultdict(list)
    for event in events:
        for task in workloads_for(event, integration_user_id=integration_user_id):
            plan[task].append(event.id)
    return dict(plan)
