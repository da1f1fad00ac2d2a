"""Override rule conditions: validation for the admin and evaluation on the hot path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from routing.choices import ConditionOp

_OPS = frozenset(ConditionOp.values)


def conditions_errors(conditions: object) -> list[str]:
    """Plain-language problems with a rule's condition list (empty when it is valid)."""
    if not isinstance(conditions, list) or not conditions:
        return ["Conditions must be a non-empty list of {field, op, value} objects."]
    problems = []
    for number, condition in enumerate(conditions, start=1):
        if not isinstance(condition, dict) or not isinstance(condition.get("field"), str):
            problems.append(f"Condition {number} needs a 'field' (a Lead field API name).")
            continue
        op = condition.get("op", ConditionOp.EQUALS)
        value = condition.get("value")
        if op not in _OPS:
            problems.append(f"Condition {number}: unknown op {op!r}.")
        elif op == ConditionOp.IN and not isinstance(value, list):
            problems.append(f"Condition {number}: 'in' needs a list value.")
        elif op in (ConditionOp.GTE, ConditionOp.LTE) and not _is_number(value):
            problems.append(f"Condition {number}: '{op}' needs a number.")
        elif op in (ConditionOp.EQUALS, ConditionOp.CONTAINS) and value in (None, ""):
            problems.append(f"Condition {number}: '{op}' needs a value.")
    return problems


def compile_conditions(conditions: Sequence[Mapping]) -> tuple[tuple[str, str, object], ...]:
    """Pre-fold text values so matching is one comparison per condition."""
    compiled = []
    for condition in conditions:
        op = condition.get("op", ConditionOp.EQUALS)
        value = condition.get("value")
        if op == ConditionOp.IN:
            value = frozenset(_fold(item) for item in value)
        elif op in (ConditionOp.GTE, ConditionOp.LTE):
            value = float(value)
        elif value is not None:
            value = _fold(value)
        compiled.append((condition["field"], op, value))
    return tuple(compiled)


def conditions_match(compiled: tuple[tuple[str, str, object], ...], fields: Mapping) -> bool:
    return all(_holds(op, fields.get(field), value) for field, op, value in compiled)


def _holds(op: str, actual: object, expected: object) -> bool:
    if op == ConditionOp.BLANK:
        return actual is None or str(actual).strip() == ""
    if actual is None:
        return False
    if op in (ConditionOp.GTE, ConditionOp.LTE):
        number = _number(actual)
        if number is None:
            return False
        return number >= expected if op == ConditionOp.GTE else number <= expected
    text = _fold(actual)
    if op == ConditionOp.IN:
        return text in expected
    if op == ConditionOp.CONTAINS:
        return expected in text
    return text == expected


def _fold(value: object) -> str:
    return " ".join(str(value).split()).casefold()


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: object) -> float | None:
    if _is_number(value):
        return float(value)
    try:
        return float(str(value).replace(",", "").strip())
    except ValueError:
        return None
