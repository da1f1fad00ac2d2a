"""What counts as a first response: pure functions over Salesforce REST rows.

Definition (the contract managers rely on; the README and the dashboard repeat it):

- A **touch** is an outbound action on a lead, at or after the lead's CreatedDate:
  - a Task with WhoId = the lead, TaskSubtype Call, Email or LinkedIn, that is completed
    (Status 'Completed' or IsClosed true), at CompletedDateTime, else CreatedDate; by the Task's
    OwnerId. A to-do (any open status) is not a touch, whatever its dates say. A Task that is the
    activity of an EmailMessage (EmailMessage.ActivityId) is judged as that email instead, so a
    logged inbound email never counts;
  - an EmailMessage with Incoming = false and Status '3' (Sent), linked to the lead through an
    EmailMessageRelation (RelationId = the lead) or through its activity Task's WhoId, at
    MessageDate (else CreatedDate); by its CreatedById.
- A touch by the integration user or a configured automated sender (user id or from-address) is
  an **automated touch**: the earliest one is kept apart and never counts as the first response.
- **First response** = the earliest human touch; ties break on the record id. TTFR minutes =
  first response - lead CreatedDate, rounded to two decimals.
- The value is recomputed from the lead's current touches: a touch that happened earlier replaces
  the recorded one whenever it arrives, a later one never does, a deleted one stops counting.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from salesforce.records import parse_sf_datetime

LEAD_PREFIX = "00Q"
RESPONSE_SUBTYPES = frozenset({"Call", "Email", "LinkedIn"})
EMAIL_SENT = "3"
FIELD_AT = "First_Response_At__c"
FIELD_USER = "First_Response_User__c"
FIELD_MINUTES = "Time_to_First_Response__c"


@dataclass(frozen=True)
class Touch:
    lead_id: str
    at: dt.datetime
    user_id: str
    touch_id: str
    address: str = ""


@dataclass(frozen=True)
class FirstTouches:
    """The earliest human touch (the first response) and the earliest automated touch."""

    human: Touch | None
    automated: Touch | None


def is_lead_id(value: object) -> bool:
    return isinstance(value, str) and value.startswith(LEAD_PREFIX)


def _parent(row: Mapping, name: str) -> Mapping:
    value = row.get(name)
    return value if isinstance(value, Mapping) else {}


def task_is_completed(row: Mapping) -> bool:
    return row.get("Status") == "Completed" or row.get("IsClosed") is True


def task_touch(row: Mapping, *, email_activity_ids: frozenset[str] = frozenset()) -> Touch | None:
    """The touch a Task row makes, or None (not a lead, wrong subtype, to-do, an email's task)."""
    lead_id = row.get("WhoId")
    if not is_lead_id(lead_id) or row.get("TaskSubtype") not in RESPONSE_SUBTYPES:
        return None
    if not task_is_completed(row) or row.get("Id") in email_activity_ids:
        return None
    at = parse_sf_datetime(row.get("CompletedDateTime")) or parse_sf_datetime(
        row.get("CreatedDate")
    )
    if at is None:
        return None
    return Touch(lead_id=lead_id, at=at, user_id=row.get("OwnerId") or "", touch_id=row["Id"])


def email_touch(email: Mapping, *, lead_id: str) -> Touch | None:
    """The touch an EmailMessage row makes on ``lead_id``, or None (incoming or not sent)."""
    if not is_lead_id(lead_id) or email.get("Incoming") is not False:
        return None
    if str(email.get("Status")) != EMAIL_SENT:
        return None
    at = parse_sf_datetime(email.get("MessageDate")) or parse_sf_datetime(email.get("CreatedDate"))
    if at is None:
        return None
    return Touch(
        lead_id=lead_id,
        at=at,
        user_id=email.get("CreatedById") or "",
        touch_id=email["Id"],
        address=(email.get("FromAddress") or "").lower(),
    )


def relation_touch(row: Mapping) -> Touch | None:
    """An EmailMessageRelation row with its parent fields (``EmailMessage.Incoming`` ...)."""
    email = {**_parent(row, "EmailMessage"), "Id": row.get("EmailMessageId")}
    return email_touch(email, lead_id=row.get("RelationId") or "")


def touches_from_rows(
    *, tasks: Iterable[Mapping], relations: Iterable[Mapping], activity_emails: Iterable[Mapping]
) -> list[Touch]:
    """Every candidate touch from Task rows, EmailMessageRelation rows (with parent email fields)
    and EmailMessage rows that have an ActivityId (linked through their Task's WhoId)."""
    tasks = list(tasks)
    activity_emails = list(activity_emails)
    email_activity_ids = frozenset(e["ActivityId"] for e in activity_emails if e.get("ActivityId"))
    who_by_task = {t["Id"]: t.get("WhoId") for t in tasks}
    found = [task_touch(t, email_activity_ids=email_activity_ids) for t in tasks]
    found += [relation_touch(r) for r in relations]
    found += [
        email_touch(e, lead_id=who_by_task.get(e.get("ActivityId")) or "") for e in activity_emails
    ]
    return [touch for touch in found if touch is not None]


def is_automated(touch: Touch, *, automated: frozenset[str]) -> bool:
    """``automated`` holds 15-character user ids and lower-cased addresses."""
    return touch.user_id[:15] in automated or bool(touch.address and touch.address in automated)


def first_touches(
    *, created: dt.datetime, touches: Iterable[Touch], automated: frozenset[str]
) -> FirstTouches:
    """Earliest human and automated touch at or after ``created`` (pre-creation ones ignored)."""
    human: Touch | None = None
    machine: Touch | None = None
    for touch in touches:
        if touch.at < created:
            continue
        if is_automated(touch, automated=automated):
            machine = _earlier(machine, touch)
        else:
            human = _earlier(human, touch)
    return FirstTouches(human=human, automated=machine)


def _earlier(current: Touch | None, candidate: Touch) -> Touch:
    if current is None or (candidate.at, candidate.touch_id) < (current.at, current.touch_id):
        return candidate
    return current


def minutes_between(start: dt.datetime, end: dt.datetime) -> float:
    return round((end - start).total_seconds() / 60, 2)


def lead_values(*, created: dt.datetime, human: Touch | None) -> dict[str, object]:
    """The three Lead fields as the REST API takes them (None clears a field)."""
    if human is None:
        return {FIELD_AT: None, FIELD_USER: None, FIELD_MINUTES: None}
    return {
        FIELD_AT: human.at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        FIELD_USER: human.user_id or None,
        FIELD_MINUTES: minutes_between(created, human.at),
    }


def values_changed(*, current: Mapping, wanted: Mapping[str, object]) -> bool:
    """Whether the lead's stored fields differ from ``wanted`` (same instant, user and minutes
    are equal even when spelt differently: 15/18-character ids, +0000 vs Z)."""
    at_now = parse_sf_datetime(current.get(FIELD_AT))
    at_wanted = parse_sf_datetime(wanted[FIELD_AT])
    if (at_now is None) != (at_wanted is None):
        return True
    if at_now is not None and abs((at_now - at_wanted).total_seconds()) >= 1:
        return True
    if (current.get(FIELD_USER) or "")[:15] != (wanted[FIELD_USER] or "")[:15]:
        return True
    minutes_now, minutes_wanted = current.get(FIELD_MINUTES), wanted[FIELD_MINUTES]
    if (minutes_now is None) != (minutes_wanted is None):
        return True
    return minutes_now is not None and abs(float(minutes_now) - float(minutes_wanted)) >= 0.005


@dataclass(frozen=True)
class LeadOutcome:
    """What the rules conclude for one lead, and whether Salesforce must be told."""

    lead_id: str
    created: dt.datetime
    lead_source: str
    is_converted: bool
    first: FirstTouches
    values: dict[str, object]
    changed: bool


def lead_outcome(
    lead: Mapping, *, touches: Iterable[Touch], automated: frozenset[str]
) -> LeadOutcome | None:
    """The outcome for a Lead REST row (None when the row has no CreatedDate)."""
    created = parse_sf_datetime(lead.get("CreatedDate"))
    if created is None:
        return None
    first = first_touches(created=created, touches=touches, automated=automated)
    values = lead_values(created=created, human=first.human)
    return LeadOutcome(
        lead_id=lead["Id"],
        created=created,
        lead_source=lead.get("LeadSource") or "",
        is_converted=bool(lead.get("IsConverted")),
        first=first,
        values=values,
        changed=values_changed(current=lead, wanted=values),
    )


def leads_outcomes(
    *, leads: Iterable[Mapping], touches: Iterable[Touch], automated: frozenset[str]
) -> list[LeadOutcome]:
    """Outcomes for many leads; touches are matched to leads by their 15-character id."""
    by_lead: dict[str, list[Touch]] = {}
    for touch in touches:
        by_lead.setdefault(touch.lead_id[:15], []).append(touch)
    outcomes = (
        lead_outcome(lead, touches=by_lead.get(lead["Id"][:15], []), automated=automated)
        for lead in leads
    )
    return [outcome for outcome in outcomes if outcome is not None]
