"""The emulator's SOQL engine: a tokenizer, a recursive-descent parser and an evaluator.

``parse(text)`` builds a ``Query``; ``execute(text_or_query, source)`` runs it against a
``DataSource`` (see ``sf_emulator.fieldinfo``) and returns records shaped like Salesforce's REST
query results. Anything outside the supported subset raises ``SoqlError`` with Salesforce's error
code (MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE, INVALID_QUERY_FILTER_OPERATOR...).
"""

from __future__ import annotations

from sf_emulator.soql.errors import SoqlError
from sf_emulator.soql.nodes import Query
from sf_emulator.soql.parser import parse
from sf_emulator.soql.run import QueryResult, execute
from sf_emulator.values import to_json

__all__ = ["Query", "QueryResult", "SoqlError", "execute", "parse", "to_json_value"]


def to_json_value(value: object) -> object:
    """A result value (records included) as Salesforce's JSON renders it.

    Datetimes become ``2024-01-01T12:00:00.000+0000`` and dates ``2024-01-01``.
    """
    if isinstance(value, dict):
        return {key: to_json_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_json_value(item) for item in value]
    return to_json(value)
