"""Use the source's optional ``rows_by`` index for top-level ``Id``/reference ``=`` and ``IN``."""

from __future__ import annotations

from collections.abc import Iterable

from sf_emulator.fieldinfo import DataSource
from sf_emulator.soql.conditions import Scope, filter_field
from sf_emulator.soql.literals import ID_TYPES, Span, literal
from sf_emulator.soql.nodes import BoolOp, Comparison, Condition, InList, SemiJoin


def candidate_rows(source: DataSource, where: Condition | None, scope: Scope) -> list[dict] | None:
    """Live rows that may match ``where`` from the index, or None when a scan is needed.

    The caller still applies the whole predicate; the rows come back in Id order so that a
    query without ORDER BY returns the same order however it was answered.
    """
    rows_by = getattr(source, "rows_by", None)
    if rows_by is None or where is None:
        return None
    conjuncts = where.items if isinstance(where, BoolOp) and where.operator == "AND" else (where,)
    best: tuple[str, set[str]] | None = None
    for conjunct in conjuncts:
        found = _indexed(conjunct, scope)
        if found is not None and (best is None or len(found[1]) < len(best[1])):
            best = found
    if best is None:
        return None
    rows: Iterable[dict] = rows_by(scope.sobject, best[0], sorted(best[1]))
    return sorted(rows, key=lambda row: str(row.get("Id")))


def _indexed(condition: Condition, scope: Scope) -> tuple[str, set[str]] | None:
    """``(field, values)`` when ``condition`` is ``field = id`` / ``field IN (...)``."""
    if isinstance(condition, (Comparison, InList, SemiJoin)) and len(condition.field.path) > 1:
        return None
    if isinstance(condition, Comparison) and condition.operator == "=":
        field = filter_field(condition.field, scope)
        values = [condition.value]
    elif isinstance(condition, InList) and not condition.negated:
        field = filter_field(condition.field, scope)
        values = list(condition.values)
    elif isinstance(condition, SemiJoin) and not condition.negated:
        field = filter_field(condition.field, scope)
        if field.info.type not in ID_TYPES or field.direct is None:
            return None
        return field.direct, scope.subselect(condition.query, condition)
    else:
        return None
    if field.info.type not in ID_TYPES or field.direct is None:
        return None
    text, now = scope.schema.text, scope.now
    wanted = [literal(field, "=", value, text=text, now=now) for value in values]
    if any(w is None or isinstance(w, Span) for w in wanted):
        return None
    return field.direct, {str(w) for w in wanted}
