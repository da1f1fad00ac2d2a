"""Effects on decisions: one at a time and in bulk, both only ever adding keys."""

from __future__ import annotations

import pytest

from flywheel.models import Decision
from flywheel.services import decision_effect_record, decision_effects_record

pytestmark = pytest.mark.django_db


def test_bulk_effects_are_recorded_on_each_decision(decide_case):
    # given three decisions
    ids = [decide_case(subject_id=f"00Q00000000000{n}AAA").decision_id for n in range(3)]
    # when owners are written for all three in one call
    changed = decision_effects_record(
        effects={pk: {"owner_written": f"005{n}"} for n, pk in enumerate(ids)}
    )
    # then each decision carries its own effect and a time
    assert changed == 3
    rows = {d.pk: d for d in Decision.objects.filter(pk__in=ids)}
    assert [rows[pk].effect for pk in ids] == [{"owner_written": f"005{n}"} for n in range(3)]
    assert all(rows[pk].effect_at is not None for pk in ids)


def test_bulk_effects_keep_the_first_value_of_a_key(decide_case):
    # given a decision whose owner write was already recorded
    pk = decide_case().decision_id
    decision_effect_record(decision_id=pk, effect={"owner_written": "005first"})
    first_at = Decision.objects.get(pk=pk).effect_at
    # when a retry records the same key with another value and a new key
    changed = decision_effects_record(
        effects={pk: {"owner_written": "005second", "owner_corrected": "005human"}}
    )
    # then the first value stays, the new key is added and the first time is kept
    decision = Decision.objects.get(pk=pk)
    assert changed == 1
    assert decision.effect == {"owner_written": "005first", "owner_corrected": "005human"}
    assert decision.effect_at == first_at


def test_repeated_bulk_effects_change_nothing(decide_case):
    # given effects already recorded
    ids = [decide_case(subject_id=f"00Q00000000000{n}AAA").decision_id for n in range(2)]
    effects = {pk: {"owner_written": "005same"} for pk in ids}
    decision_effects_record(effects=effects)
    # when the same effects come again (a redelivered batch)
    # then nothing changes
    assert decision_effects_record(effects=effects) == 0


def test_bulk_effects_use_one_update_per_distinct_effect(decide_case, django_assert_num_queries):
    # given 30 decisions that all led to the same owner
    ids = [decide_case(subject_id=f"00Q{n:015d}").decision_id for n in range(30)]
    # when their effects are recorded together
    # then it takes one UPDATE (inside one transaction) and no read: none had an effect yet
    with django_assert_num_queries(3):  # SAVEPOINT/BEGIN, UPDATE, RELEASE/COMMIT
        decision_effects_record(effects={pk: {"owner_written": "005same"} for pk in ids})
    assert Decision.objects.filter(pk__in=ids, effect={"owner_written": "005same"}).count() == 30


def test_bulk_effects_for_no_decisions_do_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert decision_effects_record(effects={}) == 0


def test_bulk_effects_on_a_mix_of_new_and_recorded_decisions(decide_case):
    # given four decisions, two of which already led to something
    ids = [decide_case(subject_id=f"00Q{n:015d}").decision_id for n in range(4)]
    for pk in ids[:2]:
        decision_effect_record(decision_id=pk, effect={"owner_written": "005first"})
    before = dict(Decision.objects.filter(pk__in=ids[:2]).values_list("pk", "effect_at"))
    # when one batch records the same effect for all four
    changed = decision_effects_record(
        effects={pk: {"owner_written": "005second", "written_at": "t"} for pk in ids}
    )
    # then the new ones take it whole, the recorded ones only gain the missing key
    rows = {d.pk: d for d in Decision.objects.filter(pk__in=ids)}
    assert changed == 4
    assert [rows[pk].effect for pk in ids] == [
        {"owner_written": "005first", "written_at": "t"},
        {"owner_written": "005first", "written_at": "t"},
        {"owner_written": "005second", "written_at": "t"},
        {"owner_written": "005second", "written_at": "t"},
    ]
    assert {pk: rows[pk].effect_at for pk in ids[:2]} == before
    assert all(rows[pk].effect_at is not None for pk in ids[2:])
    # and a repeat changes nothing
    assert decision_effects_record(effects={pk: {"written_at": "t"} for pk in ids}) == 0
