"""Leads whose every field is garbage go through routing, first-response detection and template
choice: each gets a decision or a clear fallback, never an exception."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routing.engine.classify import classify
from routing.engine.policy import CompiledPolicy, compile_snapshot
from routing.engine.route import route_ambiguous_fallback, route_classified
from routing.models import Assignment
from routing.services.assign import leads_route
from routing.services.config import policy_load_file
from salesforce import inbox
from salesforce.cdc import parse_message
from salesforce.ids import to_18
from salesforce.models import ChangeEvent
from templates_app.models import TemplateSuggestion
from templates_app.services import suggestions_create
from tests.reliability.conftest import examples
from tests.reliability.strategies import json_values, lead_fields
from tests.routing.conftest import CONFIG, make_distributor
from tests.routing.fakes import FakeClient as RoutingClient
from tests.ttfr.fakes import FakeClient as TtfrClient
from ttfr.models import LeadFact
from ttfr.services.detect import activity_process

_ids = itertools.count(1)
_replay = itertools.count(50_000)


def _stored_events(entity: str, prefix: str, change: str, fields: dict) -> list[ChangeEvent]:
    """Fields as the listener stores them: through the CDC parser and the inbox."""
    record_id = to_18(f"{prefix}5f{next(_ids):010d}")
    message = {
        "data": {
            "event": {"replayId": next(_replay)},
            "payload": {
                "ChangeEventHeader": {
                    "entityName": entity,
                    "changeType": change,
                    "recordIds": [record_id],
                    "commitTimestamp": 1_767_225_600_000,
                },
                **fields,
            },
        }
    }
    ids = inbox.events_store(changes=parse_message(message, channel="fuzz"), source="cdc")
    return list(ChangeEvent.objects.filter(id__in=ids))


@pytest.fixture
def policy(db) -> CompiledPolicy:
    return compile_snapshot(policy_load_file(path=CONFIG).policy.snapshot)


@pytest.fixture
def seeded(db, settings):
    from django.core.management import call_command

    settings.SF_INTEGRATION_USER_ID = "0055f000000001cAAA"
    call_command("load_config", verbosity=0)


@pytest.mark.django_db
@examples(60)
@given(fields=lead_fields())
def test_rules_engine_routes_any_lead_somewhere_and_says_why(policy, fields):
    distributor = make_distributor(policy)

    cls = classify(policy, fields)
    routed = (
        route_ambiguous_fallback(cls, distributor)
        if cls.ambiguous
        else route_classified(cls, distributor)
    )

    assert routed.owner_id[:3] in ("005", "00G")
    assert routed.explanation().strip()
    json.dumps(routed.output())
    if cls.ambiguous:
        assert routed.owner_id == policy.fallback_queue_id and cls.problems


@pytest.mark.django_db
@examples(25)
@given(fields=lead_fields())
def test_garbage_lead_is_routed_once_with_a_recorded_decision(seeded, fields):
    events = _stored_events("Lead", "00Q", "CREATE", fields)
    client = RoutingClient()

    report = leads_route(events=events, client=client)
    again = leads_route(events=events, client=client)

    row = Assignment.objects.get(lead_id=events[0].record_id)
    assert report.decided + report.respected == 1 and again.decided == 0
    assert row.owner_id and row.notes
    assert row.decision_id is not None or row.status == "respected"


@pytest.mark.django_db
@examples(25)
@given(
    lead=lead_fields(),
    task=st.dictionaries(
        st.sampled_from(["WhoId", "OwnerId", "TaskSubtype", "Status", "CompletedDateTime"]),
        json_values(4),
        max_size=5,
    ),
    email=st.dictionaries(
        st.sampled_from(["ActivityId", "Incoming", "Status", "MessageDate", "CreatedById"]),
        json_values(4),
        max_size=5,
    ),
)
def test_first_response_detection_survives_garbage_activity(seeded, lead, task, email):
    events = [
        *_stored_events("Lead", "00Q", "CREATE", lead),
        *_stored_events("Task", "00T", "CREATE", task),
        *_stored_events("EmailMessage", "02s", "CREATE", email),
    ]

    result = activity_process(client=TtfrClient(), events=events, now=dt.datetime.now(dt.UTC))

    assert result.failed == 0
    assert LeadFact.objects.filter(lead_id=events[0].record_id).count() <= 1


@pytest.mark.django_db
@examples(25)
@given(fields=lead_fields())
def test_template_choice_gives_every_lead_a_rendered_suggestion(seeded, fields):
    lead = {**_stored_events("Lead", "00Q", "CREATE", fields)[0].fields}
    lead["Id"] = to_18(f"00Q5f{next(_ids):010d}")

    created = suggestions_create(leads=[lead])

    suggestion = TemplateSuggestion.objects.get(lead_id=lead["Id"])
    assert created == [suggestion]
    assert suggestion.template_id and suggestion.subject and suggestion.body
    assert "{{" not in suggestion.subject + suggestion.body or "{{" in json.dumps(fields)
