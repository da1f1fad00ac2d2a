"""Tooling API: ``GET /services/data/vXX.X/tooling/query?q=...`` for the one object a client of
this org reads there, PlatformEventChannelMember: the entities selected for Change Data Capture
on the standard ``ChangeEvents`` channel (Setup → Change Data Capture). The stream fault
``selected_entities`` changes the selection; only selected entities publish change events.

The query's field list is honoured; its WHERE, ORDER BY and LIMIT are not (every member of the
standard channel comes back, as the selection is at most a handful of rows).
"""

from __future__ import annotations

import re

from aiohttp import web

from sf_emulator.errors import SalesforceError
from sf_emulator.rest_http import add_routes, json_response, org_of

OBJECT = "PlatformEventChannelMember"
FIELDS = ("Id", "DeveloperName", "EventChannel", "SelectedEntity")
_QUERY = re.compile(r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<object>\w+)\b", re.I | re.S)
_ID_PREFIX = "0v8"  # PlatformEventChannelMember ids


def selection_records(entities: list[str], *, version: str) -> list[dict]:
    return [
        {
            "attributes": {
                "type": OBJECT,
                "url": f"/services/data/{version}/tooling/sobjects/{OBJECT}/{_id(n)}",
            },
            "Id": _id(n),
            "DeveloperName": f"ChangeEvents_{entity}ChangeEvent",
            "EventChannel": "ChangeEvents",
            "SelectedEntity": f"{entity}ChangeEvent",
        }
        for n, entity in enumerate(entities, start=1)
    ]


def _id(n: int) -> str:
    return f"{_ID_PREFIX}5f{n:010d}AAA"


async def query(request: web.Request) -> web.Response:
    text = request.query.get("q") or ""
    match = _QUERY.match(text)
    if match is None:
        raise SalesforceError(400, "MALFORMED_QUERY", f"unexpected token in query: {text[:80]!r}")
    if match["object"].lower() != OBJECT.lower():
        raise SalesforceError(
            400,
            "INVALID_TYPE",
            f"sObject type '{match['object']}' is not supported. The emulator's Tooling API "
            f"answers {OBJECT} only.",
        )
    wanted = [name.strip() for name in match["fields"].split(",")]
    unknown = [name for name in wanted if name.lower() not in {f.lower() for f in FIELDS}]
    if unknown:
        raise SalesforceError(
            400, "INVALID_FIELD", f"No such column '{unknown[0]}' on entity '{OBJECT}'."
        )
    events = getattr(org_of(request), "events", None)
    entities = sorted(events.selected) if events is not None else []
    keep = {f.lower() for f in wanted}
    records = [
        {k: v for k, v in row.items() if k == "attributes" or k.lower() in keep}
        for row in selection_records(entities, version=request.match_info["version"])
    ]
    return json_response(
        {
            "size": len(records),
            "totalSize": len(records),
            "done": True,
            "queryLocator": None,
            "entityTypeName": OBJECT,
            "records": records,
        }
    )


def setup(app: web.Application) -> None:
    add_routes(app, "GET", "/services/data/{version}/tooling/query", query)
