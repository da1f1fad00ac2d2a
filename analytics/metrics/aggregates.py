"""Aggregates the dashboards compute in the database, so a million leads never reach Python."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

from django.db.models import Aggregate, Field

SQLITE_PERCENTILES = "flywheel_percentile_cont"


class FloatList(Field):
    """What ``Percentiles`` gives back: a list of floats (a PostgreSQL array, JSON on SQLite)."""

    def from_db_value(self, value: object, expression: object, connection: object) -> object:
        return json.loads(value) if isinstance(value, str) else value


class Percentiles(Aggregate):
    """The ``fractions`` quantiles of the non-null values, each interpolated linearly between the
    two nearest ranks (PostgreSQL's ``percentile_cont``), as one list; None for no values.

    One aggregate for several fractions: the values are computed and sorted once. SQLite has no
    ``percentile_cont``, so ``PercentileCont`` does the same arithmetic as a Python aggregate
    registered on the connection."""

    name = "Percentiles"
    function = "PERCENTILE_CONT"
    output_field = FloatList()
    template = (
        "%(function)s(ARRAY[%(fractions)s]::float8[]) WITHIN GROUP (ORDER BY %(expressions)s)"
    )

    def __init__(self, expression: object, fractions: Sequence[float], **extra: object) -> None:
        if not fractions or not all(0 <= fraction <= 1 for fraction in fractions):
            raise ValueError(f"Percentile fractions lie between 0 and 1, not {fractions}.")
        listed = ", ".join(repr(float(fraction)) for fraction in fractions)
        super().__init__(expression, fractions=listed, **extra)

    def as_sqlite(self, compiler, connection, **extra_context):
        connection.ensure_connection()
        connection.connection.create_aggregate(SQLITE_PERCENTILES, 2, PercentileCont)
        clone = self.copy()
        clone.template = f"{SQLITE_PERCENTILES}(%(expressions)s, '[%(fractions)s]')"
        return clone.as_sql(compiler, connection, **extra_context)


class PercentileCont:
    """``percentile_cont`` as a SQLite aggregate over (value, JSON list of fractions), with
    PostgreSQL's arithmetic (row position ``fraction * (n - 1)``, then
    ``low + (high - low) * proportion``) so both databases give the same figures."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.fractions = "[]"

    def step(self, value: float | None, fractions: str) -> None:
        self.fractions = fractions
        if value is not None:
            self.values.append(value)

    def finalize(self) -> str | None:
        if not self.values:
            return None
        self.values.sort()
        return json.dumps([_interpolate(self.values, f) for f in json.loads(self.fractions)])


def _interpolate(ordered: list[float], fraction: float) -> float:
    position = fraction * (len(ordered) - 1)
    first = math.floor(position)
    low = ordered[first]
    if math.ceil(position) == first:
        return low
    return low + (position - first) * (ordered[first + 1] - low)


def split(values: list[float] | None, count: int) -> list[float | None]:
    """The ``count`` figures of one ``Percentiles`` result (None each when there were no
    values)."""
    return list(values) if values is not None else [None] * count
