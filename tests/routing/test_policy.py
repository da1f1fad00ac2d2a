"""Policy life cycle: validation, publish, immutability, rollback, load_config."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from routing.models import OwnerPool, PoolMember, Rep, RoutingPolicy, SegmentRule
from routing.services.policy import (
    PolicyImmutable,
    PolicyInvalid,
    policy_draft_create,
    policy_errors,
    policy_publish,
    policy_rollback,
)
from tests.routing.conftest import CONFIG

pytestmark = pytest.mark.django_db


def _draft_with_segments(source: RoutingPolicy, bounds: list[tuple[str, int, int | None]]):
    draft = policy_draft_create(source=source)
    draft.segments.all().delete()
    SegmentRule.objects.bulk_create(
        SegmentRule(policy=draft, code=code, min_employees=low, max_employees=high)
        for code, low, high in bounds
    )
    return draft


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        ([("SMB", 1, 199), ("MM", 250, 999), ("ENT", 1000, None)], "Gap: 200-249"),
        ([("SMB", 1, 250), ("MM", 200, 999), ("ENT", 1000, None)], "Overlap"),
        ([("SMB", 1, 199), ("MM", 200, None), ("ENT", 1000, None)], "Overlap"),
        ([("SMB", 1, 199), ("MM", 200, 999), ("ENT", 1000, 50000)], "more than 50000"),
        ([("SMB", 10, 199), ("MM", 200, 999), ("ENT", 1000, None)], "Gap: 1-9"),
        ([], "at least one segment"),
    ],
)
def test_segment_gaps_and_overlaps_are_rejected(loaded_policy, bounds, message):
    draft = _draft_with_segments(loaded_policy, bounds)

    with pytest.raises(PolicyInvalid) as error:
        policy_publish(policy=draft)

    assert any(message in m for m in error.value.messages)
    assert RoutingPolicy.objects.get(is_active=True) == loaded_policy


def test_publish_needs_a_fallback_queue_and_existing_active_members(loaded_policy):
    draft = policy_draft_create(source=loaded_policy)
    draft.fallback_queue_id = ""
    draft.save()
    Rep.objects.filter(user_id="0055f0000000001AAA").update(is_active=False)
    empty = OwnerPool.objects.create(policy=draft, name="Empty", distribution="round_robin")

    errors = policy_errors(policy=draft)

    assert any("fallback queue" in e for e in errors)
    assert any("Avery Nguyen" in e and "inactive" in e for e in errors)
    assert any(f"Pool {empty.name!r} has neither members nor a queue" in e for e in errors)


def test_publish_stamps_the_next_version_and_switches_the_active_policy(loaded_policy):
    draft = policy_draft_create(source=loaded_policy)
    SegmentRule.objects.filter(policy=draft, code="SMB").update(max_employees=99)
    SegmentRule.objects.filter(policy=draft, code="MM").update(min_employees=100)

    published = policy_publish(policy=draft, by="ops")

    loaded_policy.refresh_from_db()
    assert (published.version, published.is_active) == (loaded_policy.version + 1, True)
    assert not loaded_policy.is_active
    assert published.snapshot["segments"][0] == {"code": "SMB", "min": 1, "max": 99}
    assert published.snapshot["version"] == published.version


def test_a_published_version_cannot_be_published_again(loaded_policy):
    with pytest.raises(PolicyImmutable):
        policy_publish(policy=loaded_policy)


def test_draft_copy_keeps_pools_members_and_rules(loaded_policy):
    draft = policy_draft_create(source=loaded_policy)

    assert draft.pools.count() == loaded_policy.pools.count() == 16
    assert (
        PoolMember.objects.filter(pool__policy=draft).count()
        == PoolMember.objects.filter(pool__policy=loaded_policy).count()
    )
    assert draft.countries.count() == 249
    assert list(draft.overrides.values_list("name", flat=True)) == list(
        loaded_policy.overrides.values_list("name", flat=True)
    )


def test_rollback_republishes_an_older_version_as_the_newest(loaded_policy):
    changed = policy_draft_create(source=loaded_policy)
    changed.overrides.all().delete()
    v2 = policy_publish(policy=changed)

    v3 = policy_rollback(version=loaded_policy.version, by="ops")

    assert v3.version == v2.version + 1 and v3.is_active
    assert v3.content_hash == loaded_policy.content_hash
    assert "rollback to version 1" in v3.note


def test_load_config_is_idempotent(db):
    out = StringIO()
    call_command("load_config", routing=CONFIG, stdout=out)
    call_command("load_config", routing=CONFIG, stdout=out)

    assert RoutingPolicy.objects.filter(status="published").count() == 1
    assert "published as version 1" in out.getvalue()
    assert "unchanged, still version 1" in out.getvalue()
    assert Rep.objects.count() == 20


def test_load_config_keeps_out_of_office_set_in_the_admin(loaded_policy):
    Rep.objects.filter(user_id="0055f0000000001AAA").update(out_of_office=True)

    call_command("load_config", routing=CONFIG, stdout=StringIO())

    assert Rep.objects.get(user_id="0055f0000000001AAA").out_of_office


def test_changed_file_publishes_a_new_version(loaded_policy, tmp_path):
    data = json.loads(CONFIG.read_text())
    data["aliases"]["Bundesrepublik"] = "DE"
    changed = tmp_path / "policy.json"
    changed.write_text(json.dumps(data))

    call_command("load_config", routing=changed, stdout=StringIO())

    active = RoutingPolicy.objects.get(is_active=True)
    assert active.version == 2
    assert active.snapshot["aliases"]["Bundesrepublik"] == "DE"


def _mutated(tmp_path, change) -> str:
    data = json.loads(CONFIG.read_text())
    change(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    return str(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["segments"].pop(1), "Gap: 200-999"),
        (lambda d: d.pop("fallback_queue"), "missing key 'fallback_queue'"),
        (lambda d: d["pools"][0]["members"].append({"user_id": "0055f00000000ZZAAA"}), "not a rep"),
        (lambda d: d["aliases"].update({"Atlantis": "QQ"}), "QQ, which has no region"),
        (lambda d: d["overrides"][0].update({"set_pool": "Nowhere"}), "pool 'Nowhere'"),
        (lambda d: d["overrides"][0].update({"conditions": [{"op": "in"}]}), "needs a 'field'"),
    ],
)
def test_invalid_policy_file_is_rejected_and_the_old_config_kept(
    loaded_policy, tmp_path, change, message
):
    with pytest.raises(CommandError) as error:
        call_command("load_config", routing=_mutated(tmp_path, change), stdout=StringIO())

    assert message in str(error.value)
    assert "active policy is unchanged" in str(error.value)
    assert RoutingPolicy.objects.get().pk == loaded_policy.pk


def test_bad_json_is_rejected_with_its_position(loaded_policy, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"segments": [1, 2,,]}')

    with pytest.raises(CommandError, match=r"not valid JSON \(line 1, column"):
        call_command("load_config", routing=str(broken), stdout=StringIO())

    assert RoutingPolicy.objects.count() == 1
