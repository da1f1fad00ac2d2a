"""Policy life cycle: validate, publish (stamp a version + immutable snapshot), copy into a draft,
roll back (republish an older version's content as the newest version)."""

from __future__ import annotations

import hashlib
import itertools
import json

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from routing.choices import Distribution, PolicyStatus
from routing.engine.overrides import conditions_errors
from routing.models import (
    CountryAlias,
    OverrideRule,
    OwnerPool,
    PoolMember,
    RegionCountry,
    RoutingPolicy,
    SegmentRule,
)
from routing.selectors import policy_get


class PolicyInvalid(ValidationError):
    """The policy cannot be published; ``messages`` says what to fix."""


class PolicyImmutable(ValueError):
    """A published policy version cannot change; copy it into a draft instead."""


def policy_errors(*, policy: RoutingPolicy) -> list[str]:
    """Everything that stops ``policy`` from being published, in plain language."""
    errors = []
    if not policy.fallback_queue_id:
        errors.append("Set the fallback queue (leads nothing else matches go there).")
    else:
        try:
            policy.clean()
        except ValidationError as error:
            errors.extend(error.messages)
    errors += _segment_errors(list(policy.segments.all()))
    countries = dict(policy.countries.values_list("country_code", "region"))
    if not countries:
        errors.append("Map at least one country to a region.")
    for alias, code in policy.aliases.values_list("alias", "country_code"):
        if code not in countries:
            errors.append(f"Alias {alias!r} points to {code}, which has no region.")
    pools = list(policy.pools.prefetch_related("members__rep"))
    pool_names = {pool.name for pool in pools}
    for pool in pools:
        errors += _pool_errors(pool)
    for rule in policy.overrides.filter(is_enabled=True):
        errors += [f"Rule {rule.name!r}: {p}" for p in conditions_errors(rule.conditions)]
        if rule.set_pool and rule.set_pool not in pool_names:
            errors.append(
                f"Rule {rule.name!r} sends leads to pool {rule.set_pool!r}, which is missing."
            )
    return errors


def _segment_errors(segments: list[SegmentRule]) -> list[str]:
    if not segments:
        return ["Define at least one segment."]
    errors = []
    ordered = sorted(segments, key=lambda s: s.min_employees)
    if ordered[0].min_employees > 1:
        errors.append(f"Gap: 1-{ordered[0].min_employees - 1} employees fits no segment.")
    for current, following in itertools.pairwise(ordered):
        if current.max_employees is None or current.max_employees >= following.min_employees:
            errors.append(f"Overlap: {current} and {following} share employee counts.")
        elif current.max_employees + 1 < following.min_employees:
            errors.append(
                f"Gap: {current.max_employees + 1}-{following.min_employees - 1} employees "
                "fits no segment."
            )
    for segment in ordered:
        if segment.max_employees is not None and segment.max_employees < segment.min_employees:
            errors.append(f"Segment {segment.code}: the upper bound is below the lower bound.")
    if ordered[-1].max_employees is not None:
        errors.append(f"Gap: more than {ordered[-1].max_employees} employees fits no segment.")
    return errors


def _pool_errors(pool: OwnerPool) -> list[str]:
    errors = []
    members = list(pool.members.all())
    if not members and not pool.queue_id:
        errors.append(f"Pool {pool.name!r} has neither members nor a queue.")
    for member in members:
        if not member.rep.is_active:
            errors.append(f"Pool {pool.name!r}: rep {member.rep} is inactive.")
    try:
        pool.clean()
    except ValidationError as error:
        errors += [f"Pool {pool.name!r}: {m}" for m in error.messages]
    if pool.distribution == Distribution.CAPACITY and any(
        m.capacity is None and not pool.capacity for m in members
    ):
        errors.append(f"Pool {pool.name!r}: every member needs a capacity.")
    return errors


def policy_snapshot_build(*, policy: RoutingPolicy) -> dict:
    """The content of a policy as JSON (no version): what the engine reads and what is hashed."""
    pools = policy.pools.prefetch_related("members__rep").order_by("name")
    queue_names = {p.queue_id: p.queue_name for p in pools if p.queue_id and p.queue_name}
    queue_names[policy.fallback_queue_id] = policy.fallback_queue_name
    return {
        "fallback_queue_id": policy.fallback_queue_id,
        "fallback_queue_name": policy.fallback_queue_name,
        "queue_names": dict(sorted(queue_names.items())),
        "segments": [
            {"code": s.code, "min": s.min_employees, "max": s.max_employees}
            for s in policy.segments.order_by("min_employees")
        ],
        "countries": dict(
            policy.countries.order_by("country_code").values_list("country_code", "region")
        ),
        "aliases": dict(policy.aliases.order_by("alias").values_list("alias", "country_code")),
        "pools": [_pool_json(pool) for pool in pools],
        "overrides": [
            {
                "name": r.name,
                "conditions": r.conditions,
                "set_segment": r.set_segment,
                "set_pool": r.set_pool,
                "set_priority": r.set_priority,
            }
            for r in policy.overrides.filter(is_enabled=True).order_by("position", "id")
        ],
    }


def _pool_json(pool: OwnerPool) -> dict:
    return {
        "name": pool.name,
        "segment": pool.segment,
        "region": pool.region,
        "distribution": pool.distribution,
        "queue_id": pool.queue_id,
        "capacity": pool.capacity,
        "members": [
            {
                "user_id": m.rep.user_id,
                "name": m.rep.name,
                "weight": m.weight,
                "capacity": m.capacity,
            }
            for m in sorted(pool.members.all(), key=lambda m: m.rep.user_id)
        ],
    }


def content_hash(snapshot: dict) -> str:
    body = {key: value for key, value in snapshot.items() if key != "version"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@transaction.atomic
def policy_publish(*, policy: RoutingPolicy, by: str = "", note: str = "") -> RoutingPolicy:
    """Validate the draft, stamp the next version and make it the active policy."""
    policy = RoutingPolicy.objects.select_for_update().get(pk=policy.pk)
    if policy.is_published:
        raise PolicyImmutable(f"{policy} is already published.")
    errors = policy_errors(policy=policy)
    if errors:
        raise PolicyInvalid(errors)
    snapshot = policy_snapshot_build(policy=policy)
    version = (RoutingPolicy.objects.aggregate(v=Max("version"))["v"] or 0) + 1
    snapshot["version"] = version
    RoutingPolicy.objects.filter(is_active=True).update(is_active=False)
    policy.version = version
    policy.status = PolicyStatus.PUBLISHED
    policy.is_active = True
    policy.snapshot = snapshot
    policy.content_hash = content_hash(snapshot)
    policy.published_at = timezone.now()
    policy.published_by = by
    policy.note = note or policy.note
    policy.save()
    return policy


@transaction.atomic
def policy_draft_create(*, source: RoutingPolicy | None = None, note: str = "") -> RoutingPolicy:
    """A new draft, copied from ``source`` (rows and all) when given."""
    draft = RoutingPolicy.objects.create(
        note=note or (f"edit of {source}" if source else "new draft"),
        based_on=source,
        fallback_queue_id=source.fallback_queue_id if source else "",
        fallback_queue_name=source.fallback_queue_name if source else "",
    )
    if source is not None:
        _copy_rows(source=source, draft=draft)
    return draft


def _copy_rows(*, source: RoutingPolicy, draft: RoutingPolicy) -> None:
    for model in (SegmentRule, RegionCountry, CountryAlias, OverrideRule):
        rows = list(model.objects.filter(policy=source))
        for row in rows:
            row.pk = None
            row.policy = draft
        model.objects.bulk_create(rows)
    for pool in source.pools.prefetch_related("members"):
        members = list(pool.members.all())
        pool.pk = None
        pool.policy = draft
        pool.save()
        for member in members:
            member.pk = None
            member.pool = pool
        PoolMember.objects.bulk_create(members)


@transaction.atomic
def policy_rollback(*, version: int, by: str = "") -> RoutingPolicy:
    """Republish an older version's content as a new version (decisions keep pointing at the
    version they used; the newest version is always the active one)."""
    source = policy_get(version=version)
    draft = policy_draft_create(source=source, note=f"rollback to version {version}")
    return policy_publish(policy=draft, by=by)


def policy_draft_delete(*, policy: RoutingPolicy) -> None:
    if policy.is_published:
        raise PolicyImmutable(f"{policy} is published and is kept for the decisions that used it.")
    policy.delete()
