"""``query/`` and ``queryAll/``: SOQL through the engine, paged with server-side cursors."""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from dataclasses import dataclass

from aiohttp import web

from sf_emulator.errors import SalesforceError
from sf_emulator.org import Org
from sf_emulator.rest_http import add_routes, json_response, org_of
from sf_emulator.soql import SoqlError, execute

DEFAULT_BATCH = 2000
MIN_BATCH = 200
MAX_CURSORS = 500
CURSOR_IDLE_SECONDS = 15 * 60
_BATCH = re.compile(r"batchSize\s*=\s*(?P<size>\d+)", re.IGNORECASE)
_LOCATOR = re.compile(r"^(?P<cursor>01g[0-9A-Za-z]{15})-(?P<offset>\d+)$")


@dataclass
class Cursor:
    records: list[dict]
    batch: int
    endpoint: str
    used_at: float


class Cursors:
    """Open query locators; the least recently used ones are dropped past MAX_CURSORS."""

    def __init__(self) -> None:
        self._open: OrderedDict[str, Cursor] = OrderedDict()

    def add(self, locator: str, cursor: Cursor) -> None:
        self._open[locator] = cursor
        while len(self._open) > MAX_CURSORS:
            self._open.popitem(last=False)

    def get(self, locator: str) -> Cursor | None:
        cursor = self._open.get(locator)
        now = time.monotonic()
        if cursor is None or now - cursor.used_at > CURSOR_IDLE_SECONDS:
            self._open.pop(locator, None)
            return None
        cursor.used_at = now
        self._open.move_to_end(locator)
        return cursor


CURSORS_KEY = web.AppKey("cursors", Cursors)


def batch_size(header: str) -> int:
    match = _BATCH.search(header or "")
    if not match:
        return DEFAULT_BATCH
    return max(MIN_BATCH, min(DEFAULT_BATCH, int(match["size"])))


def _page(version: str, locator: str, cursor: Cursor, offset: int, total: int) -> dict:
    end = offset + cursor.batch
    body: dict[str, object] = {
        "totalSize": total,
        "done": end >= len(cursor.records),
        "records": cursor.records[offset:end],
    }
    if not body["done"]:
        body["nextRecordsUrl"] = f"/services/data/v{version}/{cursor.endpoint}/{locator}-{end}"
    return body


def first_page(
    app: web.Application, org: Org, *, version: str, endpoint: str, text: str | None, options: str
) -> dict:
    """The first page of ``text`` run on ``endpoint`` ("query" or "queryAll"); the rest stays
    behind a query locator. Shared by the REST resource and composite subrequests."""
    if not text or not text.strip():
        raise SalesforceError(400, "MALFORMED_QUERY", "A query string has to be specified")
    try:
        result = execute(text, org.store, include_deleted=endpoint == "queryAll")
    except SoqlError as error:
        raise SalesforceError(400, error.error_code, error.message) from None
    records = list(result.records)
    cursor = Cursor(
        records=records, batch=batch_size(options), endpoint=endpoint, used_at=time.monotonic()
    )
    locator = org.ids.new_id("01g")
    if len(records) > cursor.batch:
        app[CURSORS_KEY].add(locator, cursor)
    return _page(version, locator, cursor, 0, result.total_size)


def next_page(app: web.Application, *, version: str, locator: str) -> dict:
    """The page a ``nextRecordsUrl`` locator (``01g...-2000``) points at."""
    match = _LOCATOR.match(locator)
    cursor = app[CURSORS_KEY].get(match["cursor"]) if match else None
    if match is None or cursor is None:
        raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    return _page(version, match["cursor"], cursor, int(match["offset"]), len(cursor.records))


async def _run(request: web.Request, *, endpoint: str) -> web.Response:
    return json_response(
        first_page(
            request.app,
            org_of(request),
            version=request["version"],
            endpoint=endpoint,
            text=request.query.get("q"),
            options=request.headers.get("Sforce-Query-Options", ""),
        )
    )


async def query(request: web.Request) -> web.Response:
    return await _run(request, endpoint="query")


async def query_all(request: web.Request) -> web.Response:
    return await _run(request, endpoint="queryAll")


async def query_more(request: web.Request) -> web.Response:
    return json_response(
        next_page(request.app, version=request["version"], locator=request.match_info["locator"])
    )


def setup(app: web.Application) -> None:
    app[CURSORS_KEY] = Cursors()
    for endpoint, handler in (("query", query), ("queryAll", query_all)):
        add_routes(app, "GET", f"/services/data/{{version}}/{endpoint}", handler)
        add_routes(app, "GET", f"/services/data/{{version}}/{endpoint}/{{locator}}", query_more)
