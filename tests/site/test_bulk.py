"""rows_insert: the hot path's bulk INSERT stores what bulk_create would, in fewer statements."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from flywheel.choices import Decider, DecisionStatus, Verdict
from flywheel.models import Decision, Label
from flywheel_site.bulk import rows_insert
from routing.choices import AssignmentStatus
from routing.models import Assignment
from ttfr.models import LeadFact

pytestmark = pytest.mark.django_db

WHEN = dt.datetime(2026, 3, 4, 5, 6, 7, 891000, tzinfo=dt.UTC)


def _decision(n: int, **fields: object) -> Decision:
    values = {
        "workload": "routing",
        "subject_id": f"00Q{n:015d}",
        "decider": Decider.RULES,
        "prompt_version": "routing-v1",
        "context": {"lead": {"Company": "Ünïcode \"quoted\" 'co'", "n": n}, "list": [1, None]},
        "conversation": {"messages": [{"role": "user", "content": "x\\y"}]},
        "output": {"segment": "SMB"},
        "created_at": WHEN,
    }
    return Decision(**(values | fields))


def _stored(decision: Decision) -> dict:
    row = Decision.objects.get(pk=decision.pk)
    return {f.attname: getattr(row, f.attname) for f in Decision._meta.concrete_fields}


def test_rows_are_stored_as_bulk_create_stores_them():
    odd = {
        "policy_version": 7,
        "confidence": 1,  # an int for a float column
        "cost_usd": Decimal("0.001234"),
        "latency_ms": 12.5,
        "status": DecisionStatus.FALLBACK,
        "reason": "",
        "effect": None,
        "input_tokens": None,
    }
    ours = rows_insert([_decision(1, **odd), _decision(2, subject_id=12345)])
    django = Decision.objects.bulk_create([_decision(1, **odd), _decision(2, subject_id=12345)])

    for mine, theirs in zip(ours, django, strict=True):
        assert mine.pk is not None and not mine._state.adding
        expected = _stored(theirs) | {"id": mine.pk}
        assert _stored(mine) == expected
    assert _stored(ours[1])["subject_id"] == "12345"
    assert _stored(ours[0])["cost_usd"] == Decimal("0.001234")
    assert _stored(ours[0])["created_at"] == WHEN


def test_primary_keys_follow_the_order_of_the_rows():
    rows = rows_insert([_decision(n) for n in range(7)], batch_size=3)

    stored = dict(Decision.objects.values_list("pk", "subject_id"))
    assert [stored[row.pk] for row in rows] == [f"00Q{n:015d}" for n in range(7)]


def test_a_batch_of_rows_is_one_statement_within_the_parameter_limit():
    with CaptureQueriesContext(connection) as queries:
        rows_insert([_decision(n) for n in range(1200)], batch_size=500)

    inserts = [q for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 3
    assert Decision.objects.count() == 1200


def test_update_conflicts_updates_only_the_named_fields_of_existing_rows():
    LeadFact.objects.create(lead_id="00Q1", owner_id="005A", team="East", segment="SMB")

    rows_insert(
        [
            LeadFact(lead_id="00Q1", owner_id="005B", team="West", segment="ENT"),
            LeadFact(lead_id="00Q2", owner_id="005C", team="North", segment="MM"),
        ],
        update_conflicts=(["lead_id"], ["owner_id", "team"]),
    )

    facts = {f.lead_id: (f.owner_id, f.team, f.segment) for f in LeadFact.objects.all()}
    assert facts == {"00Q1": ("005B", "West", "SMB"), "00Q2": ("005C", "North", "MM")}


def test_foreign_keys_and_choices_are_written():
    decision = rows_insert([_decision(1)])[0]

    label = rows_insert([Label(decision=decision, verdict=Verdict.CORRECT, source="human")])[0]
    row = rows_insert([Assignment(lead_id="00Q9", status=AssignmentStatus.PENDING)])[0]

    stored = Label.objects.get(pk=label.pk)
    assert (stored.decision_id, stored.verdict, stored.reviewer_id) == (
        decision.pk,
        "correct",
        None,
    )
    assert Assignment.objects.get(pk=row.pk).status == "pending"


def test_nothing_to_insert_runs_no_query():
    with CaptureQueriesContext(connection) as queries:
        assert rows_insert([]) == []
    assert queries.captured_queries == []


def test_ignore_conflicts_keeps_the_first_row():
    LeadFact.objects.create(lead_id="00Q1", owner_id="005A")

    rows_insert(
        [LeadFact(lead_id="00Q1", owner_id="005B"), LeadFact(lead_id="00Q2", owner_id="005C")],
        ignore_conflicts=True,
    )

    assert dict(LeadFact.objects.values_list("lead_id", "owner_id")) == {
        "00Q1": "005A",
        "00Q2": "005C",
    }


def _raw(pk: int, column: str) -> object:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM flywheel_decision WHERE id = %s", [pk])
        return cursor.fetchone()[0]


@pytest.mark.parametrize(
    "when",
    [
        WHEN,
        WHEN.replace(microsecond=0),  # str() drops the fraction: so must the shortcut
        WHEN.astimezone(dt.timezone(dt.timedelta(hours=2))),  # not UTC: the field converts it
        dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=ZoneInfo("America/New_York")),
    ],
    ids=["utc", "utc-whole-second", "fixed-offset", "zoneinfo"],
)
def test_datetimes_are_stored_byte_for_byte_as_bulk_create_stores_them(when):
    mine = rows_insert([_decision(1, created_at=when, effect_at=when)])[0]
    theirs = Decision.objects.bulk_create([_decision(2, created_at=when, effect_at=when)])[0]

    for column in ("created_at", "effect_at"):
        assert _raw(mine.pk, column) == _raw(theirs.pk, column)
    assert Decision.objects.get(pk=mine.pk).created_at == when


def test_a_json_value_shared_by_many_rows_is_stored_in_each():
    schema = {"type": "object", "properties": {"owner": {"type": "string"}}}
    rows = rows_insert([_decision(n, output_schema=schema, output={"n": n}) for n in range(3)])

    stored = Decision.objects.filter(pk__in=[r.pk for r in rows]).order_by("pk")
    assert [(d.output_schema, d.output) for d in stored] == [(schema, {"n": n}) for n in range(3)]
