"""From a classification to an owner, and the decision output/explanation the gateway records."""

from __future__ import annotations

from dataclasses import dataclass, replace

from routing.choices import UNKNOWN
from routing.engine.classify import Classification
from routing.engine.distribute import Choice, Distributor


@dataclass(frozen=True, slots=True)
class Routed:
    classification: Classification
    choice: Choice
    note: str = ""

    @property
    def owner_id(self) -> str:
        return self.choice.owner_id

    def output(self) -> dict:
        cls = self.classification
        return {
            "segment": cls.segment,
            "region": cls.region,
            "reason": self.explanation()[:500],
            "owner_id": self.choice.owner_id,
            "pool": cls.pool,
            "country": cls.country,
            "priority": cls.priority,
        }

    def explanation(self) -> str:
        parts = [*self.classification.reasons]
        if self.note:
            parts.append(self.note)
        parts.append(self.choice.reason)
        return "; ".join(parts)


def route_classified(cls: Classification, distributor: Distributor) -> Routed:
    """Owner for a classification whose segment/region (or override pool) is settled."""
    policy = distributor.policy
    if cls.pool:
        return Routed(cls, distributor.choose(policy.pools_by_name[cls.pool]))
    if UNKNOWN in (cls.segment, cls.region):
        return Routed(cls, distributor.fallback(f"{cls.segment} x {cls.region} has no pool"))
    pool = policy.pools_by_cell.get((cls.segment, cls.region))
    if pool is None:
        return Routed(cls, distributor.fallback(f"no pool for {cls.segment} x {cls.region}"))
    return Routed(cls, distributor.choose(pool))


def route_ambiguous_fallback(cls: Classification, distributor: Distributor) -> Routed:
    """What the rules say for an ambiguous lead: the fallback queue, and why."""
    why = "ambiguous (" + "; ".join(cls.problems) + "), no LLM answer"
    return Routed(cls, distributor.fallback(why))


def route_from_answer(
    cls: Classification, answer: dict, distributor: Distributor, *, decided_by: str
) -> Routed:
    """Apply a validated LLM answer (segment/region from the policy's codes) to an ambiguous lead."""
    segment = answer.get("segment", UNKNOWN)
    region = answer.get("region", UNKNOWN)
    note = f"{decided_by} says {segment} x {region}: {str(answer.get('reason', ''))[:200]}"
    settled = replace(
        cls,
        segment=segment if not cls.segment_by_rule else cls.segment,
        region=region,
        reasons=list(cls.reasons),
        problems=[],
    )
    if UNKNOWN in (settled.segment, settled.region) and not settled.pool:
        return Routed(settled, distributor.fallback(f"{decided_by} could not tell"), note)
    return Routed(settled, route_classified(settled, distributor).choice, note)
