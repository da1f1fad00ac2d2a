"""SOQL literals, IN lists and id-chunked queries, escaped the way Salesforce reads them.

Never put a value into SOQL any other way: a quote or backslash in a lead's company name must not
change the query.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator
from decimal import Decimal
from urllib.parse import quote_plus

# Salesforce refuses request lines over 16,384 bytes; leave room for the host, path and headers.
MAX_QUERY_URL_CHARS = 15_000
IDS_PLACEHOLDER = "{ids}"

_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}


def soql_quote(value: object) -> str:
    """``value`` as a SOQL literal: strings quoted and escaped, dates ISO, None as null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("SOQL has no literal for NaN or infinity")
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("SOQL datetimes need a time zone; pass an aware datetime")
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return "'" + "".join(_ESCAPES.get(char, char) for char in value) + "'"
    raise TypeError(f"cannot put a {type(value).__name__} into SOQL")


def soql_in(values: Iterable[object]) -> str:
    """A parenthesised IN list: ``('a', 'b')``. An empty list is an error (SOQL rejects it)."""
    items = [soql_quote(value) for value in values]
    if not items:
        raise ValueError("an IN list needs at least one value")
    return "(" + ", ".join(items) + ")"


def in_queries(
    template: str,
    values: Iterable[object],
    *,
    chunk: int = 200,
    max_url_chars: int = MAX_QUERY_URL_CHARS,
) -> Iterator[str]:
    """One query per chunk of distinct ``values``: ``{ids}`` in ``template`` becomes the chunk's
    quoted, comma-separated values (write ``Id IN ({ids})``). A chunk holds at most ``chunk``
    values and stays under ``max_url_chars`` once URL-encoded."""
    if IDS_PLACEHOLDER not in template:
        raise ValueError(f"the query template needs an {IDS_PLACEHOLDER} placeholder")
    base = len(quote_plus(template.replace(IDS_PLACEHOLDER, "")))
    items: list[str] = []
    length = base
    for item in dict.fromkeys(soql_quote(value) for value in values):
        size = len(quote_plus(item)) + len(quote_plus(", "))
        if items and (len(items) >= chunk or length + size > max_url_chars):
            yield template.replace(IDS_PLACEHOLDER, ", ".join(items))
            items, length = [], base
        if base + size > max_url_chars:
            raise ValueError("one value alone makes the query too long for a URL")
        items.append(item)
        length += size
    if items:
        yield template.replace(IDS_PLACEHOLDER, ", ".join(items))
