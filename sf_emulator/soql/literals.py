"""Filter literals checked against the field's type and normalised for comparison."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sf_emulator.ids import is_valid_id, to_18
from sf_emulator.soql.dates import date_range
from sf_emulator.soql.errors import SoqlError, located
from sf_emulator.soql.fields import BoundField
from sf_emulator.soql.nodes import Value

TEXT_TYPES = frozenset(("string", "textarea", "email", "phone", "url", "picklist"))
NUMBER_TYPES = frozenset(("int", "double", "currency", "percent"))
ID_TYPES = frozenset(("id", "reference"))
_TYPE_WORDS = {"int": "integer", "datetime": "dateTime", "date": "date", "boolean": "boolean"}
_ORDERING = frozenset(("<", "<=", ">", ">="))


@dataclass(frozen=True)
class Span:
    """A relative date literal resolved to ``[start, end)`` in the field's own type."""

    start: dt.date
    end: dt.date


def normalise(field: BoundField, value: object) -> object:
    """A stored value in the form literals are compared with (text ignores case)."""
    if value is None:
        return None
    kind = field.info.type
    if kind in TEXT_TYPES and isinstance(value, str):
        return value.lower()
    if kind in ID_TYPES and isinstance(value, str) and len(value) == 15 and is_valid_id(value):
        return to_18(value)  # stored ids are 18 characters already
    return value


def literal(
    field: BoundField, operator: str, value: Value, *, text: str, now: dt.datetime
) -> object:
    """The normalised literal for ``field <operator> value``, or the error Salesforce gives."""
    kind = field.info.type
    if value.kind == "null":
        return None
    if operator == "LIKE" and kind not in TEXT_TYPES:
        word = "id field" if kind in ID_TYPES else f"field '{field.text}'"
        raise _filter_error(f"invalid operator on {word}", text=text, value=value)
    if kind in TEXT_TYPES:
        _require(value.kind == "string", field, "string", quoted=True, text=text, value=value)
        return value.like if operator == "LIKE" else str(value.value).lower()
    if kind in ID_TYPES:
        return _id(field, value, text=text)
    if kind in NUMBER_TYPES:
        _require(value.kind == "number", field, kind, quoted=False, text=text, value=value)
        return value.value
    if kind == "boolean":
        _require(value.kind == "boolean", field, kind, quoted=False, text=text, value=value)
        if operator in _ORDERING:
            raise _filter_error(
                f"invalid operator on boolean field '{field.text}'", text=text, value=value
            )
        return value.value
    _require(value.kind in (kind, "relative"), field, kind, quoted=False, text=text, value=value)
    if value.kind != "relative":
        return value.value
    try:
        start, end = date_range(value.value, now=now)  # type: ignore[arg-type]
    except (OverflowError, ValueError):
        raise located(
            "MALFORMED_QUERY", f"Invalid date literal: {value.text}", text=text, pos=value.pos
        ) from None
    if kind == "date":
        return Span(start.date(), _date_end(end))
    return Span(start, end)


def _date_end(end: dt.datetime) -> dt.date:
    day = end.date()
    return day if end.time() == dt.time() else day + dt.timedelta(days=1)


def _id(field: BoundField, value: Value, *, text: str) -> str | None:
    _require(value.kind == "string", field, "id", quoted=True, text=text, value=value)
    raw = str(value.value)
    if raw == "":
        return None
    if not is_valid_id(raw):
        raise _filter_error(f"invalid ID field: {raw}", text=text, value=value)
    return to_18(raw)


def _require(
    ok: bool, field: BoundField, kind: str, *, quoted: bool, text: str, value: Value
) -> None:
    if ok:
        return
    word = _TYPE_WORDS.get(kind, "double" if kind in NUMBER_TYPES else kind)
    should = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
    raise _filter_error(
        f"value of filter criterion for field '{field.text}' must be of type {word} and {should}",
        text=text,
        value=value,
    )


def _filter_error(message: str, *, text: str, value: Value) -> SoqlError:
    return located("INVALID_QUERY_FILTER_OPERATOR", message, text=text, pos=value.pos)
