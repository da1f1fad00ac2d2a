"""ORDER BY: several keys, ASC/DESC, NULLS FIRST/LAST, text ignoring case."""

from __future__ import annotations

from collections.abc import Callable

from sf_emulator.soql.conditions import Scope, getter
from sf_emulator.soql.errors import located
from sf_emulator.soql.nodes import OrderItem

_SORT_FORBIDDEN_LENGTH = 255


def sort_rows(rows: list[dict], order_by: tuple[OrderItem, ...], scope: Scope) -> list[dict]:
    """``rows`` sorted by ``order_by`` (stable: one pass per key, last key first)."""
    keys = []
    for item in order_by:
        field = scope.schema.field(item.field, scope.sobject, alias=scope.alias)
        if field.info.type == "textarea" and field.info.length > _SORT_FORBIDDEN_LENGTH:
            raise located(
                "INVALID_FIELD",
                f"field '{field.text}' can not be sorted in a query call",
                text=scope.schema.text,
                pos=item.field.pos,
            )
        keys.append((item, getter(field, scope)))
    ordered = list(rows)
    for item, get in reversed(keys):
        # Nulls go in their own rank so they never compare with values.
        null_rank = 0 if item.nulls_last == item.descending else 2
        ordered.sort(key=_sort_key(get, null_rank), reverse=item.descending)
    return ordered


def _sort_key(get: Callable[[dict], object], null_rank: int) -> Callable[[dict], tuple]:
    def key(row: dict) -> tuple:
        value = get(row)
        return (null_rank, 0) if value is None else (1, value)

    return key
