"""Rules: segment, region, override rules → a classification with reasons and its ambiguities."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from routing.choices import UNKNOWN
from routing.countries import resolve
from routing.engine.employees import parse_employees
from routing.engine.overrides import conditions_match
from routing.engine.policy import CompiledPolicy


@dataclass(slots=True)
class Classification:
    segment: str = UNKNOWN
    region: str = UNKNOWN
    country: str | None = None
    priority: bool = False
    pool: str | None = None
    segment_by_rule: bool = False
    reasons: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    confidence: float = 1.0

    @property
    def ambiguous(self) -> bool:
        return bool(self.problems)


def classify(policy: CompiledPolicy, fields: Mapping) -> Classification:
    result = Classification()
    segment_problem = _segment(policy, fields, result)
    region_problem = _region(policy, fields, result)
    _overrides(policy, fields, result)
    if segment_problem and not (result.pool or result.segment_by_rule):
        result.problems.append(segment_problem)
    if region_problem and not result.pool:
        result.problems.append(region_problem)
    if result.problems:
        result.confidence = min(result.confidence, 0.3)
    return result


def _segment(policy: CompiledPolicy, fields: Mapping, result: Classification) -> str:
    count = parse_employees(fields.get("NumberOfEmployees"))
    if count.value is None:
        result.reasons.append(f"segment unknown: {count.problem}")
        return count.problem
    for segment in policy.segments:
        if count.value >= segment.low and (segment.high is None or count.value <= segment.high):
            result.segment = segment.code
            result.reasons.append(f"{segment.code} because {count.value:,} employees")
            if not count.exact:
                result.confidence = min(result.confidence, 0.9)
            return ""
    problem = f"{count.value:,} employees fits no segment"
    result.reasons.append(f"segment unknown: {problem}")
    return problem


def _region(policy: CompiledPolicy, fields: Mapping, result: Classification) -> str:
    code_field = str(fields.get("CountryCode") or "").strip().upper()
    if code_field in policy.countries:
        return _set_region(policy, result, code_field, f"CountryCode {code_field}", 0.99)
    country = str(fields.get("Country") or "").strip()
    if not country:
        problem = "country missing" if not code_field else f"unknown CountryCode {code_field!r}"
        result.reasons.append(f"region unknown: {problem}")
        return problem
    code, named = resolve(country, lookup=policy.lookup)
    if code is None:
        if len(named) > 1:
            problem = f"conflicting countries in {country[:60]!r}: {', '.join(named)}"
        else:
            problem = f"unknown country {country[:60]!r}"
        result.reasons.append(f"region unknown: {problem}")
        return problem
    confidence = 0.95 if len(named) == 1 and code.lower() != country.lower() else 0.97
    return _set_region(policy, result, code, f"{country[:60]!r} = {code}", confidence)


def _set_region(
    policy: CompiledPolicy, result: Classification, code: str, why: str, confidence: float
) -> str:
    result.country = code
    result.region = policy.countries[code]
    result.reasons.append(f"{result.region} because {why}")
    result.confidence = min(result.confidence, confidence)
    return ""


def _overrides(policy: CompiledPolicy, fields: Mapping, result: Classification) -> None:
    chosen: dict[str, tuple[str, str]] = {}
    for rule in policy.overrides:
        if not conditions_match(rule.conditions, fields):
            continue
        for attribute, value in (("segment", rule.set_segment), ("pool", rule.set_pool)):
            if not value:
                continue
            earlier = chosen.get(attribute)
            if earlier is None:
                chosen[attribute] = (rule.name, value)
                setattr(result, attribute, value)
                result.reasons.append(f"rule {rule.name!r} sets {attribute} {value}")
            elif earlier[1] != value:
                result.problems.append(
                    f"rules disagree: {earlier[0]!r} sets {attribute} {earlier[1]}, "
                    f"{rule.name!r} sets {value}"
                )
        if rule.set_priority and not result.priority:
            result.priority = True
            result.reasons.append(f"priority because of rule {rule.name!r}")
    result.segment_by_rule = "segment" in chosen
