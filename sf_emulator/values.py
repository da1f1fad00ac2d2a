"""Field values: coercion of API input, JSON output and the persisted encoding."""

from __future__ import annotations

import datetime as dt
import math

from sf_emulator.errors import SalesforceError
from sf_emulator.fieldinfo import FieldInfo
from sf_emulator.ids import is_valid_id, to_18

_TEXT_TYPES = frozenset(("string", "textarea", "email", "phone", "url", "picklist"))
_NUMBER_TYPES = frozenset(("double", "currency", "percent"))


def format_datetime(value: dt.datetime) -> str:
    """Salesforce's REST datetime shape: ``2024-01-01T12:00:00.000+0000``."""
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def to_json(value: object) -> object:
    """A stored value as REST JSON renders it."""
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def json_default(value: object) -> object:
    """``json.dumps(default=...)`` hook for datetimes and dates."""
    if isinstance(value, dt.date):
        return to_json(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def parse_datetime(text: str) -> dt.datetime:
    """Parse the ISO 8601 forms Salesforce accepts; raise ValueError otherwise."""
    text = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    if len(text) >= 5 and text[-5] in "+-" and text[-3] != ":" and "T" in text:
        text = text[:-2] + ":" + text[-2:]
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return truncate_ms(parsed.astimezone(dt.UTC))


def truncate_ms(value: dt.datetime) -> dt.datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def coerce_input(sobject: str, info: FieldInfo, value: object) -> object:
    """Turn a JSON value into the stored Python value for ``info``, or raise SalesforceError."""
    if value is None or (value == "" and info.type not in _TEXT_TYPES):
        return None
    try:
        return _coerce(info, value)
    except (TypeError, ValueError, OverflowError):
        raise _deserialize_error(info, value) from None


def _coerce(info: FieldInfo, value: object) -> object:
    kind = info.type
    if kind in _TEXT_TYPES or kind == "id":
        if isinstance(value, bool | dict | list):
            raise TypeError
        text = value if isinstance(value, str) else str(value)
        if info.length and len(text) > info.length:
            raise SalesforceError(
                400,
                "STRING_TOO_LONG",
                f"{info.label}: data value too large: {text[:60]} (max length={info.length})",
                [info.name],
            )
        return text
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise TypeError
    if kind == "int":
        return _to_int(value)
    if kind in _NUMBER_TYPES:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise TypeError
        number = float(value)
        if not math.isfinite(number):
            raise ValueError
        return number
    if kind == "datetime":
        if not isinstance(value, str):
            raise TypeError
        return parse_datetime(value)
    if kind == "date":
        if not isinstance(value, str):
            raise TypeError
        return dt.date.fromisoformat(value.strip()[:10])
    if kind == "reference":
        return _to_reference(info, value)
    raise TypeError


def _to_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError
    number = float(value) if isinstance(value, str) else value
    if isinstance(number, float) and not number.is_integer():
        raise ValueError
    result = int(number)
    if abs(result) > 2**31 - 1:
        raise OverflowError
    return result


def _to_reference(info: FieldInfo, value: object) -> str:
    if not isinstance(value, str) or not is_valid_id(value):
        raise SalesforceError(
            400,
            "MALFORMED_ID",
            f"{info.label}: id value of incorrect type: {value}",
            [info.name],
        )
    return to_18(value)


def _deserialize_error(info: FieldInfo, value: object) -> SalesforceError:
    kind = {"int": "int", "boolean": "boolean", "date": "date", "datetime": "datetime"}.get(
        info.type, "double" if info.type in _NUMBER_TYPES else "string"
    )
    return SalesforceError(
        400,
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {kind} from {_json_kind(value)} value {value} "
        f"or request may be missing a required field",
        [info.name],
    )


def _json_kind(value: object) -> str:
    if isinstance(value, str):
        return "VALUE_STRING"
    if isinstance(value, bool):
        return "VALUE_TRUE" if value else "VALUE_FALSE"
    if isinstance(value, int | float):
        return "VALUE_NUMBER_INT" if isinstance(value, int) else "VALUE_NUMBER_FLOAT"
    return "START_OBJECT" if isinstance(value, dict) else "START_ARRAY"


def encode(value: object) -> object:
    """A stored value as persisted JSON (datetimes and dates as ISO strings)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def decode(info: FieldInfo | None, value: object) -> object:
    """The inverse of :func:`encode`, guided by the field's type."""
    if value is None or info is None or not isinstance(value, str):
        return value
    if info.type == "datetime":
        return dt.datetime.fromisoformat(value)
    if info.type == "date":
        return dt.date.fromisoformat(value)
    return value
