"""The emulator's SOQL engine: a tokenizer, a recursive-descent parser and an evaluator.

``parse(text)`` builds a ``Query``; ``execute(text_or_query, source)`` runs it against a
``DataSource`` (see ``sf_emulator.fieldinfo``) and returns records shaped like Salesforce's REST
query results. Anything outside the supported subset raises ``SoqlError`` with Salesforce's error
code (MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE, INVALID_QUERY_FILTER_OPERATOR...).
"""

from __future__ import annotations

import datetime as dt

from sf_emulator.soql.errors import SoqlError
from sf_emulator.soql.nodes import Query
from sf_emulator.soql.parser import parse
from sf_emulator.soql.run import QueryResult, execute

__all__ = ["Query", "QueryResult", "SoqlError", "execute", "parse", "to_json_value"]


def to_json_value(value: object) -> object:
    """A result value as Salesforce's JSON renders it (datetimes ``...T12:00:00.000+0000``)."""
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: to_json_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_json_value(item) for item in value]
    return value
