"""Aggregate functions over the whole result (no GROUP BY): COUNT, COUNT_DISTINCT, MIN, MAX..."""

from __future__ import annotations

from sf_emulator.soql.conditions import Scope
from sf_emulator.soql.errors import malformed
from sf_emulator.soql.fields import value_of
from sf_emulator.soql.literals import NUMBER_TYPES
from sf_emulator.soql.nodes import Aggregate

_COMPARABLE = NUMBER_TYPES | {"date", "datetime", "string", "email", "phone", "url", "picklist",
                              "id", "reference"}  # fmt: skip


def aggregate_record(aggregates: list[Aggregate], rows: list[dict], scope: Scope) -> dict:
    """The single AggregateResult record: aliases or ``expr0``, ``expr1``... as keys."""
    out: dict[str, object] = {"attributes": {"type": "AggregateResult"}}
    unnamed = 0
    for aggregate in aggregates:
        key = aggregate.alias
        if key is None:
            key, unnamed = f"expr{unnamed}", unnamed + 1
        if key in out:
            raise malformed(f"duplicate alias: {key}", text=scope.schema.text, pos=aggregate.pos)
        out[key] = _compute(aggregate, rows, scope)
    return out


def _compute(aggregate: Aggregate, rows: list[dict], scope: Scope) -> object:
    field = scope.schema.field(aggregate.field, scope.sobject, alias=scope.alias)  # type: ignore[arg-type]
    values = [value_of(field, row, scope.sobject, scope.fetch) for row in rows]
    present = [value for value in values if value is not None]
    function, kind = aggregate.function, field.info.type
    allowed = NUMBER_TYPES if function in ("SUM", "AVG") else _COMPARABLE
    if function not in ("COUNT", "COUNT_DISTINCT") and kind not in allowed:
        raise malformed(
            f"field {field.text} does not support aggregate operator {function}",
            text=scope.schema.text,
            pos=aggregate.pos,
        )
    if function == "COUNT":
        return len(present)
    if function == "COUNT_DISTINCT":
        return len({v.lower() if isinstance(v, str) else v for v in present})
    if not present:
        return None
    if function == "MIN":
        return min(present)
    if function == "MAX":
        return max(present)
    total = sum(present)  # type: ignore[arg-type]
    return total if function == "SUM" else total / len(present)
