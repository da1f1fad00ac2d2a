"""WHERE clauses compiled to predicates over stored rows."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from sf_emulator.soql.errors import located
from sf_emulator.soql.fields import BoundField, Fetch, Schema, value_of
from sf_emulator.soql.literals import ID_TYPES, Span, literal, normalise
from sf_emulator.soql.nodes import BoolOp, Comparison, Condition, InList, Not, Query, SemiJoin

Predicate = Callable[[dict], bool]
SubSelect = Callable[[Query, SemiJoin], set[str]]
_FILTER_FORBIDDEN_LENGTH = 255


@dataclass
class Scope:
    """What compiling a condition needs: the object queried, lookups, the clock, sub-selects."""

    schema: Schema
    sobject: str
    alias: str | None
    fetch: Fetch
    now: dt.datetime
    subselect: SubSelect


def compile_condition(condition: Condition, scope: Scope) -> Predicate:
    if isinstance(condition, BoolOp):
        parts = [compile_condition(item, scope) for item in condition.items]
        if condition.operator == "AND":
            return lambda row: all(part(row) for part in parts)
        return lambda row: any(part(row) for part in parts)
    if isinstance(condition, Not):
        inner = compile_condition(condition.item, scope)
        return lambda row: not inner(row)
    field = filter_field(condition.field, scope)  # type: ignore[union-attr]
    get = getter(field, scope)
    if isinstance(condition, Comparison):
        return _comparison(field, get, condition, scope)
    if isinstance(condition, InList):
        return _in_list(field, get, condition, scope)
    return _semi_join(field, get, condition, scope)


def filter_field(ref: object, scope: Scope) -> BoundField:
    field = scope.schema.field(ref, scope.sobject, alias=scope.alias)  # type: ignore[arg-type]
    info = field.info
    if info.type == "textarea" and info.length > _FILTER_FORBIDDEN_LENGTH:
        raise located(
            "INVALID_FIELD",
            f"field '{field.text}' can not be filtered in a query call",
            text=scope.schema.text,
            pos=ref.pos,  # type: ignore[attr-defined]
        )
    return field


def getter(field: BoundField, scope: Scope) -> Callable[[dict], object]:
    """The normalised value of ``field`` for a row."""
    direct = field.direct
    if direct is not None:
        return lambda row: normalise(field, row.get(direct))
    sobject, fetch = scope.sobject, scope.fetch
    return lambda row: normalise(field, value_of(field, row, sobject, fetch))


def _comparison(
    field: BoundField, get: Callable[[dict], object], node: Comparison, scope: Scope
) -> Predicate:
    wanted = literal(field, node.operator, node.value, text=scope.schema.text, now=scope.now)
    operator = "!=" if node.operator == "<>" else node.operator
    if operator == "LIKE":
        pattern = re.compile(str(wanted), re.IGNORECASE | re.DOTALL)
        return lambda row: _like(pattern, get(row))
    if isinstance(wanted, Span):
        test = _span_test(operator, wanted)
    else:
        test = _plain_test(operator, wanted)
    return lambda row: test(get(row))


def _like(pattern: re.Pattern[str], value: object) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def _plain_test(operator: str, wanted: object) -> Callable[[object], bool]:
    if operator == "=":
        return lambda value: value == wanted
    if operator == "!=":
        return lambda value: value != wanted
    if wanted is None:
        return lambda value: False
    tests: dict[str, Callable[[object, object], bool]] = {
        "<": lambda a, b: a < b,  # type: ignore[operator]
        "<=": lambda a, b: a <= b,  # type: ignore[operator]
        ">": lambda a, b: a > b,  # type: ignore[operator]
        ">=": lambda a, b: a >= b,  # type: ignore[operator]
    }
    compare = tests[operator]
    return lambda value: value is not None and compare(value, wanted)


def _span_test(operator: str, span: Span) -> Callable[[object], bool]:
    start, end = span.start, span.end
    tests: dict[str, Callable[[object], bool]] = {
        "=": lambda v: start <= v < end,  # type: ignore[operator]
        "!=": lambda v: not start <= v < end,  # type: ignore[operator]
        "<": lambda v: v < start,  # type: ignore[operator]
        "<=": lambda v: v < end,  # type: ignore[operator]
        ">": lambda v: v >= end,  # type: ignore[operator]
        ">=": lambda v: v >= start,  # type: ignore[operator]
    }
    test = tests[operator]
    if operator == "!=":
        return lambda value: value is None or test(value)
    return lambda value: value is not None and test(value)


def _in_list(
    field: BoundField, get: Callable[[dict], object], node: InList, scope: Scope
) -> Predicate:
    text, now = scope.schema.text, scope.now
    wanted = [literal(field, "=", value, text=text, now=now) for value in node.values]
    spans = [w for w in wanted if isinstance(w, Span)]
    plain = {w for w in wanted if not isinstance(w, Span)}
    span_tests = [_span_test("=", span) for span in spans]

    def member(row: dict) -> bool:
        value = get(row)
        return value in plain or any(test(value) for test in span_tests)

    if node.negated:
        return lambda row: not member(row)
    return member


def _semi_join(
    field: BoundField, get: Callable[[dict], object], node: SemiJoin, scope: Scope
) -> Predicate:
    if field.info.type not in ID_TYPES:
        raise located(
            "INVALID_FIELD",
            f"The selected field '{field.text}' in the subquery and the left operand field in the "
            "where expression in the outer query must point to the same object type",
            text=scope.schema.text,
            pos=node.field.pos,
        )
    values = scope.subselect(node.query, node)
    if node.negated:
        return lambda row: get(row) not in values
    return lambda row: get(row) in values
