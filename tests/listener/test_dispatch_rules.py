"""Which workloads see which change."""

import pytest

from salesforce.dispatch import (
    MATCH_SENT_EMAILS,
    OWNER_CHANGES,
    PROCESS_ACTIVITY,
    ROUTE_LEADS,
    SUGGEST_TEMPLATES,
    EventView,
    plan_dispatch,
    workloads_for,
)
from tests.listener.factories import INTEGRATION_USER, REP


def view(entity="Lead", change="CREATE", changed=(), user=REP, own=False, source="cdc", id=1):
    return EventView(id, entity, change, tuple(changed), user, own, source)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (view(), {ROUTE_LEADS, SUGGEST_TEMPLATES, PROCESS_ACTIVITY}),
        (view(change="UNDELETE"), {ROUTE_LEADS, SUGGEST_TEMPLATES, PROCESS_ACTIVITY}),
        (view(change="DELETE"), {PROCESS_ACTIVITY}),
        (view(change="UPDATE", changed=["OwnerId"]), {OWNER_CHANGES}),
        (view(change="UPDATE", changed=["OwnerId"], user=INTEGRATION_USER), set()),
        (view(change="UPDATE", changed=["OwnerId"], own=True), set()),
        (view(change="UPDATE", changed=["First_Response_At__c"], own=True), set()),
        (view(change="UPDATE", changed=["Description"]), set()),
        (view(entity="Task"), {PROCESS_ACTIVITY}),
        (view(entity="Task", change="DELETE"), {PROCESS_ACTIVITY}),
        (view(entity="EmailMessage", own=True), {PROCESS_ACTIVITY}),
        (view(entity="EmailMessage"), {PROCESS_ACTIVITY, MATCH_SENT_EMAILS}),
        (view(entity="EmailMessage", change="UPDATE"), {PROCESS_ACTIVITY}),
        (view(change="GAP_CREATE"), set()),
        (
            view(source="reconcile", change="UPDATE"),
            {ROUTE_LEADS, SUGGEST_TEMPLATES, PROCESS_ACTIVITY},
        ),
        (view(entity="Account"), set()),
    ],
)
def test_workloads_for_each_kind_of_change(event, expected):
    assert set(workloads_for(event, integration_user_id=INTEGRATION_USER)) == expected


def test_events_that_arrive_together_become_one_task_per_workload():
    events = [view(id=i) for i in range(1, 6)] + [view(entity="Task", id=9)]

    plan = plan_dispatch(events, integration_user_id=INTEGRATION_USER)

    assert plan[ROUTE_LEADS] == [1, 2, 3, 4, 5]
    assert plan[PROCESS_ACTIVITY] == [1, 2, 3, 4, 5, 9]
