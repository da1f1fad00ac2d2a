"""A published policy snapshot compiled once into lookup-ready structures (cached per version)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from routing.countries import build_lookup
from routing.engine.overrides import compile_conditions


@dataclass(frozen=True, slots=True)
class Member:
    user_id: str
    name: str
    weight: int
    capacity: int | None


@dataclass(frozen=True, slots=True)
class Pool:
    name: str
    segment: str
    region: str
    distribution: str
    queue_id: str
    capacity: int | None
    members: tuple[Member, ...]
    sequence: tuple[int, ...]

    def cap_for(self, member: Member) -> int | None:
        return member.capacity if member.capacity is not None else self.capacity


@dataclass(frozen=True, slots=True)
class Override:
    name: str
    conditions: tuple[tuple[str, str, object], ...]
    set_segment: str
    set_pool: str
    set_priority: bool


@dataclass(frozen=True, slots=True)
class SegmentRange:
    code: str
    low: int
    high: int | None


@dataclass(frozen=True)
class CompiledPolicy:
    version: int | None
    fallback_queue_id: str
    fallback_queue_name: str
    segments: tuple[SegmentRange, ...]
    countries: Mapping[str, str]
    lookup: Mapping[str, str]
    pools_by_cell: Mapping[tuple[str, str], Pool]
    pools_by_name: Mapping[str, Pool]
    overrides: tuple[Override, ...]
    queue_names: Mapping[str, str]

    def owner_label(self, owner_id: str) -> str:
        if owner_id in self.queue_names:
            return f"queue {self.queue_names[owner_id]}"
        for pool in self.pools_by_name.values():
            for member in pool.members:
                if member.user_id == owner_id:
                    return member.name
        return owner_id


def compile_snapshot(snapshot: Mapping) -> CompiledPolicy:
    pools = tuple(_pool(data) for data in snapshot.get("pools", []))
    queue_names = dict(snapshot.get("queue_names", {}))
    queue_names.setdefault(snapshot["fallback_queue_id"], snapshot.get("fallback_queue_name", ""))
    countries = dict(snapshot["countries"])
    return CompiledPolicy(
        version=snapshot.get("version"),
        fallback_queue_id=snapshot["fallback_queue_id"],
        fallback_queue_name=snapshot.get("fallback_queue_name") or snapshot["fallback_queue_id"],
        segments=tuple(
            SegmentRange(s["code"], s["min"], s.get("max"))
            for s in sorted(snapshot["segments"], key=lambda s: s["min"])
        ),
        countries=countries,
        lookup=build_lookup(aliases=snapshot.get("aliases", {}), countries=countries),
        pools_by_cell={(p.segment, p.region): p for p in pools if p.segment and p.region},
        pools_by_name={p.name: p for p in pools},
        overrides=tuple(
            Override(
                name=o["name"],
                conditions=compile_conditions(o["conditions"]),
                set_segment=o.get("set_segment", ""),
                set_pool=o.get("set_pool", ""),
                set_priority=bool(o.get("set_priority")),
            )
            for o in snapshot.get("overrides", [])
        ),
        queue_names=queue_names,
    )


_COMPILED: dict[tuple[int | None, str], CompiledPolicy] = {}
_CACHE_SIZE = 16


def compiled_cached(
    *, version: int | None, content_hash: str, snapshot: Mapping | Callable[[], Mapping]
) -> CompiledPolicy:
    """Published snapshots never change, so one compile per version (and content) per process.
    ``snapshot`` may be a function: it is then only called (the snapshot read) on a miss."""
    key = (version, content_hash)
    compiled = _COMPILED.get(key)
    if compiled is None:
        if len(_COMPILED) >= _CACHE_SIZE:
            _COMPILED.clear()
        data = snapshot() if callable(snapshot) else snapshot
        compiled = _COMPILED[key] = compile_snapshot(data)
    return compiled


def _pool(data: Mapping) -> Pool:
    members = tuple(
        Member(
            m["user_id"], m.get("name") or m["user_id"], int(m.get("weight", 1)), m.get("capacity")
        )
        for m in data.get("members", [])
    )
    weighted = data.get("distribution") == "weighted"
    weights = [m.weight if weighted else 1 for m in members]
    return Pool(
        name=data["name"],
        segment=data.get("segment", ""),
        region=data.get("region", ""),
        distribution=data.get("distribution", "round_robin"),
        queue_id=data.get("queue_id", ""),
        capacity=data.get("capacity"),
        members=members,
        sequence=smooth_weighted_sequence(weights),
    )


def smooth_weighted_sequence(weights: list[int]) -> tuple[int, ...]:
    """Interleaved order of member indexes, each appearing ``weight`` times (nginx's smooth WRR):
    weights 5,1,1 give a a b a c a a rather than a a a a a b c."""
    total = sum(weights)
    current = [0] * len(weights)
    order = []
    for _ in range(total):
        for index, weight in enumerate(weights):
            current[index] += weight
        best = max(range(len(weights)), key=lambda i: current[i])
        current[best] -= total
        order.append(best)
    return tuple(order)
