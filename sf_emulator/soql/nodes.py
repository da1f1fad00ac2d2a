"""The parsed query: plain frozen dataclasses, no knowledge of the org's schema yet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ValueKind = Literal["string", "number", "boolean", "null", "date", "datetime", "relative"]


@dataclass(frozen=True)
class FieldRef:
    """A field path as written: ``Id``, ``Owner.Name``, ``EmailMessage.CreatedDate``."""

    path: tuple[str, ...]
    pos: int

    @property
    def text(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Aggregate:
    """``COUNT(Id)``, ``MAX(CreatedDate) latest``: an aggregate over the whole result."""

    function: str
    field: FieldRef | None
    alias: str | None
    pos: int


@dataclass(frozen=True)
class RelativeDate:
    """A date literal such as ``TODAY`` or ``LAST_N_DAYS:7`` (``n`` None when it takes none)."""

    name: str
    n: int | None


@dataclass(frozen=True)
class Value:
    kind: ValueKind
    value: object
    text: str
    pos: int
    like: str | None = None


@dataclass(frozen=True)
class Comparison:
    """``field <operator> value`` where operator is one of = != < <= > >= LIKE."""

    field: FieldRef
    operator: str
    value: Value


@dataclass(frozen=True)
class InList:
    field: FieldRef
    negated: bool
    values: tuple[Value, ...]


@dataclass(frozen=True)
class SemiJoin:
    """``field [NOT] IN (SELECT x FROM ...)``."""

    field: FieldRef
    negated: bool
    query: Query


@dataclass(frozen=True)
class BoolOp:
    operator: Literal["AND", "OR"]
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


@dataclass(frozen=True)
class OrderItem:
    field: FieldRef
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class Query:
    text: str
    select: tuple[FieldRef | Aggregate, ...]
    count_only: bool
    sobject: str
    sobject_pos: int
    alias: str | None = None
    where: Condition | None = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    offset: int | None = None
    all_rows: bool = False


Condition = Comparison | InList | SemiJoin | BoolOp | Not
