"""Load config/routing_policy.json into a published policy version (idempotent)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from flywheel_site.config_files import nul_problem
from routing.models import (
    CountryAlias,
    OverrideRule,
    OwnerPool,
    PoolMember,
    RegionCountry,
    Rep,
    RoutingPolicy,
    SegmentRule,
)
from routing.services.policy import (
    PolicyInvalid,
    content_hash,
    policy_publish,
    policy_snapshot_build,
)


@dataclass(frozen=True)
class LoadResult:
    policy: RoutingPolicy
    created: bool
    reps: int


class _Unchanged(Exception):
    """Internal: the file matches the active version, so the draft is rolled back."""


def policy_load_file(*, path: Path, by: str = "load_config") -> LoadResult:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PolicyInvalid([f"Cannot read {path}: {error.strerror}."]) from error
    except json.JSONDecodeError as error:
        raise PolicyInvalid(
            [f"{path} is not valid JSON (line {error.lineno}, column {error.colno}): {error.msg}."]
        ) from error
    if problem := nul_problem(data, path=path):
        raise PolicyInvalid([problem])
    return policy_load(data=data, by=by)


def policy_load(*, data: object, by: str = "load_config") -> LoadResult:
    """Publish ``data`` as a new version unless the active version already has that content.
    Any error leaves the database as it was (the previous policy stays active)."""
    if not isinstance(data, dict):
        raise PolicyInvalid(["The routing policy file must hold a JSON object."])
    active = RoutingPolicy.objects.filter(is_active=True).first()
    holder: dict[str, object] = {}
    try:
        with transaction.atomic():
            reps = _reps_upsert(data.get("reps", []))
            draft = _draft_from(data)
            holder["reps"] = reps
            if active and content_hash(policy_snapshot_build(policy=draft)) == active.content_hash:
                raise _Unchanged
            policy = policy_publish(policy=draft, by=by, note=str(data.get("note", "")))
    except _Unchanged:
        return LoadResult(policy=active, created=False, reps=int(holder["reps"]))
    except PolicyInvalid:
        raise
    except ValidationError as error:
        raise PolicyInvalid(error.messages) from error
    except KeyError as error:
        raise PolicyInvalid([f"Malformed routing policy: missing key {error}."]) from error
    except (TypeError, ValueError, AttributeError, IntegrityError) as error:
        raise PolicyInvalid([f"Malformed routing policy: {error}."]) from error
    return LoadResult(policy=policy, created=True, reps=reps)


def _reps_upsert(rows: list[dict]) -> int:
    """Reps are live records: name, team and hours come from the file; out-of-office stays."""
    for row in rows:
        hours = row.get("working_hours", {})
        user_id = row["user_id"]
        # Checked before anything is written: PostgreSQL refuses an over-long id at the INSERT.
        rep = Rep.objects.filter(user_id=user_id).first() if isinstance(user_id, str) else None
        rep = rep or Rep(user_id=user_id)
        rep.name = row["name"]
        rep.team = row.get("team", "")
        rep.time_zone = row.get("time_zone", "UTC")
        rep.work_start = dt.time.fromisoformat(hours.get("start", "08:00"))
        rep.work_end = dt.time.fromisoformat(hours.get("end", "18:00"))
        rep.work_days = list(hours.get("days", [0, 1, 2, 3, 4]))
        rep.full_clean()
        rep.save()
    return len(rows)


def _draft_from(data: dict) -> RoutingPolicy:
    fallback = data["fallback_queue"]
    draft = RoutingPolicy(
        note=str(data.get("note", "")),
        fallback_queue_id=fallback["id"],
        fallback_queue_name=fallback.get("name", ""),
    )
    draft.full_clean()
    draft.save()
    _rows(
        SegmentRule,
        draft,
        [
            {"code": s["code"], "min_employees": s["min"], "max_employees": s.get("max")}
            for s in data["segments"]
        ],
    )
    _rows(
        RegionCountry,
        draft,
        [{"country_code": code, "region": region} for code, region in data["countries"].items()],
    )
    _rows(
        CountryAlias,
        draft,
        [{"alias": alias, "country_code": code} for alias, code in data.get("aliases", {}).items()],
    )
    _rows(
        OverrideRule,
        draft,
        [
            {
                "position": rule.get("position", (index + 1) * 10),
                "name": rule["name"],
                "conditions": rule["conditions"],
                "set_segment": rule.get("set_segment", ""),
                "set_pool": rule.get("set_pool", ""),
                "set_priority": bool(rule.get("set_priority", False)),
            }
            for index, rule in enumerate(data.get("overrides", []))
        ],
    )
    reps = {rep.user_id: rep for rep in Rep.objects.all()}
    for pool_data in data.get("pools", []):
        pool = _rows(
            OwnerPool,
            draft,
            [
                {
                    key: pool_data.get(key, default)
                    for key, default in (
                        ("name", None),
                        ("segment", ""),
                        ("region", ""),
                        ("distribution", "round_robin"),
                        ("queue_id", ""),
                        ("queue_name", ""),
                        ("capacity", None),
                    )
                }
            ],
        )[0]
        members = []
        for member in pool_data.get("members", []):
            if member["user_id"] not in reps:
                raise PolicyInvalid([f"Pool {pool.name!r}: user {member['user_id']} is not a rep."])
            members.append(
                PoolMember(
                    pool=pool,
                    rep=reps[member["user_id"]],
                    weight=member.get("weight", 1),
                    capacity=member.get("capacity"),
                )
            )
        for row in members:
            row.full_clean(exclude=["pool", "rep"])
        PoolMember.objects.bulk_create(members)
    return draft


def _rows(model: type, policy: RoutingPolicy, rows: list[dict]) -> list:
    objects = [model(policy=policy, **row) for row in rows]
    for obj in objects:
        obj.full_clean(exclude=["policy"], validate_unique=False, validate_constraints=False)
    return model.objects.bulk_create(objects)
