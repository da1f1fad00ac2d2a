"""The first-response definition, rule by rule (pure functions, no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.ttfr.fakes import (
    INTEGRATION,
    LEAD_A,
    LEAD_B,
    REP,
    REP_2,
    T0,
    email,
    lead,
    relation,
    sf,
    task,
)
from ttfr import rules

AUTOMATED = frozenset({INTEGRATION[:15], "noreply@flywheel.demo"})
MIN = dt.timedelta(minutes=1)


def outcome(*, tasks=(), emails=(), relations=(), created=T0, current=None):
    touches = rules.touches_from_rows(
        tasks=list(tasks),
        relations=[
            {**r, "EmailMessage": next(e for e in emails if e["Id"] == r["EmailMessageId"])}
            for r in relations
        ],
        activity_emails=[e for e in emails if e.get("ActivityId")],
    )
    row = lead(created=created, **(current or {}))
    return rules.lead_outcome(row, touches=touches, automated=AUTOMATED)


def test_completed_call_counts_at_completed_datetime_with_two_decimal_minutes():
    # given a call completed 12 min 20 s after the lead came in
    call = task(at=T0 + dt.timedelta(minutes=12, seconds=20))
    # when the rules run
    result = outcome(tasks=[call])
    # then the first response is that call, by its owner, 12.33 minutes
    assert result.first.human.touch_id == call["Id"]
    assert result.values == {
        rules.FIELD_AT: sf(T0 + dt.timedelta(minutes=12, seconds=20)),
        rules.FIELD_USER: REP,
        rules.FIELD_MINUTES: 12.33,
    }


@pytest.mark.parametrize(
    ("row", "counts"),
    [
        (task(at=T0 + MIN, subtype="Call"), True),
        (task(at=T0 + MIN, subtype="Email"), True),
        (task(at=T0 + MIN, subtype="LinkedIn"), True),
        (task(at=T0 + MIN, subtype="Task"), False),  # a plain task is no outreach
        (task(at=T0 + MIN, subtype="Cadence"), False),
        (task(at=T0 + MIN, status="Not Started"), False),  # to-do
        (task(at=T0 + MIN, status="In Progress"), False),  # to-do
        (task(at=T0 + MIN, status="Deferred", CompletedDateTime=sf(T0 + MIN)), False),
        (task(at=T0 + MIN, WhoId="0035f0000000001AAA"), False),  # a contact, not a lead
        (task(at=T0 - MIN), False),  # before the lead existed
        (task(at=T0), True),  # at the very instant of creation
    ],
)
def test_which_tasks_are_touches(row, counts):
    assert (outcome(tasks=[row]).first.human is not None) is counts


def test_completed_task_without_completed_datetime_counts_at_created_date():
    call = task(at=T0 + 5 * MIN, completed=False)
    assert outcome(tasks=[call]).values[rules.FIELD_MINUTES] == 5.0


@pytest.mark.parametrize(
    ("incoming", "status", "counts"),
    [(False, "3", True), (True, "3", False), (False, "0", False), (False, "5", False)],
)
def test_only_sent_outbound_emails_count(incoming, status, counts):
    message = email(at=T0 + 3 * MIN, incoming=incoming, status=status)
    result = outcome(emails=[message], relations=[relation(message)])
    assert (result.first.human is not None) is counts


def test_email_linked_through_its_activity_task_counts_at_message_date_by_sender():
    activity = task(at=T0 + 9 * MIN, subtype="Email", owner=REP_2)
    message = email(at=T0 + 7 * MIN, sender=REP, activity_id=activity["Id"])
    result = outcome(tasks=[activity], emails=[message])
    assert result.first.human.touch_id == message["Id"]
    assert result.values[rules.FIELD_USER] == REP
    assert result.values[rules.FIELD_MINUTES] == 7.0


def test_activity_task_of_an_inbound_email_is_not_a_response():
    activity = task(at=T0 + 2 * MIN, subtype="Email")
    inbound = email(at=T0 + 2 * MIN, incoming=True, status="0", activity_id=activity["Id"])
    assert outcome(tasks=[activity], emails=[inbound]).first.human is None


@pytest.mark.parametrize(
    "automated_row",
    [
        task(at=T0 + MIN, owner=INTEGRATION),
        task(at=T0 + MIN, owner=INTEGRATION[:15]),  # 15-character form of the same user
    ],
)
def test_integration_user_touch_is_automated_and_kept_apart(automated_row):
    human = task(at=T0 + 30 * MIN)
    result = outcome(tasks=[automated_row, human])
    assert result.first.automated.touch_id == automated_row["Id"]
    assert result.first.human.touch_id == human["Id"]
    assert result.values[rules.FIELD_MINUTES] == 30.0


def test_email_from_an_automated_address_is_automated():
    message = email(at=T0 + MIN, address="NoReply@flywheel.demo")
    result = outcome(emails=[message], relations=[relation(message)])
    assert result.first.human is None
    assert result.first.automated.touch_id == message["Id"]


def test_earliest_touch_wins_whatever_the_row_order():
    late, early = task(at=T0 + 50 * MIN), task(at=T0 + 20 * MIN, owner=REP_2)
    for rows in ([late, early], [early, late]):
        result = outcome(tasks=rows)
        assert result.first.human.touch_id == early["Id"]
        assert result.values[rules.FIELD_USER] == REP_2


def test_no_touch_clears_the_fields():
    result = outcome(
        current={rules.FIELD_AT: sf(T0 + MIN), rules.FIELD_USER: REP, rules.FIELD_MINUTES: 1.0}
    )
    assert result.values == {
        rules.FIELD_AT: None,
        rules.FIELD_USER: None,
        rules.FIELD_MINUTES: None,
    }
    assert result.changed


@pytest.mark.parametrize(
    ("current", "changed"),
    [
        ({}, True),
        (
            {rules.FIELD_AT: sf(T0 + 4 * MIN), rules.FIELD_USER: REP, rules.FIELD_MINUTES: 4.0},
            False,
        ),
        # Salesforce may spell the same values differently: Z, 15-character ids
        (
            {
                rules.FIELD_AT: (T0 + 4 * MIN).isoformat().replace("+00:00", "Z"),
                rules.FIELD_USER: REP[:15],
                rules.FIELD_MINUTES: 4,
            },
            False,
        ),
        ({rules.FIELD_AT: sf(T0 + 5 * MIN), rules.FIELD_USER: REP, rules.FIELD_MINUTES: 4.0}, True),
        (
            {rules.FIELD_AT: sf(T0 + 4 * MIN), rules.FIELD_USER: REP_2, rules.FIELD_MINUTES: 4.0},
            True,
        ),
        ({rules.FIELD_AT: sf(T0 + 4 * MIN), rules.FIELD_USER: REP, rules.FIELD_MINUTES: 4.5}, True),
    ],
)
def test_a_lead_is_written_only_when_its_values_differ(current, changed):
    assert outcome(tasks=[task(at=T0 + 4 * MIN)], current=current).changed is changed


def test_touches_are_matched_to_their_own_lead():
    mine, theirs = task(at=T0 + 9 * MIN), task(LEAD_B, at=T0 + MIN)
    touches = rules.touches_from_rows(tasks=[mine, theirs], relations=[], activity_emails=[])
    results = rules.leads_outcomes(
        leads=[lead(LEAD_A), lead(LEAD_B)], touches=touches, automated=AUTOMATED
    )
    assert {r.lead_id: r.first.human.touch_id for r in results} == {
        LEAD_A: mine["Id"],
        LEAD_B: theirs["Id"],
    }
