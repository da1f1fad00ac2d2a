"""``POST composite``: the composite resource, for sObject Collections and query subrequests.

Salesforce counts a composite request as one API call; it holds up to 25 subrequests, of which
at most 5 may be sObject Collections or queries, so up to 1,000 records are written, or five
pages of up to 2,000 records are read, per call. Query subrequests are ``GET query/?q=...``,
``GET queryAll/?q=...`` and ``GET`` of a ``nextRecordsUrl`` (the next page of an earlier query).
Each subrequest runs in its own transaction and answers with its own status and body; the
top-level ``allOrNone`` (roll back every subrequest when one fails) and references between
subrequests (``@{ref.field}``) are not emulated.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from aiohttp import web

from sf_emulator import rest_composite, rest_query
from sf_emulator.errors import SalesforceError
from sf_emulator.rest_http import add_routes, json_response, org_of, read_json

MAX_SUBREQUESTS = 25
MAX_COLLECTIONS = 5
_COLLECTIONS_URL = re.compile(r"^/services/data/v[0-9.]+/composite/sobjects/?$")
_QUERY_URL = re.compile(
    r"^/services/data/v(?P<version>[0-9.]+)/(?P<endpoint>query|queryAll)/?(?P<locator>[^/?]*)$"
)
_OPERATIONS = {"POST": rest_composite._create, "PATCH": rest_composite._update}


def _parse(body: object) -> list[dict]:
    subrequests = body.get("compositeRequest") if isinstance(body, dict) else None
    if not isinstance(subrequests, list) or not subrequests:
        raise SalesforceError(
            400, "JSON_PARSER_ERROR", "Expected a JSON object with a 'compositeRequest' array"
        )
    if not all(isinstance(sub, dict) for sub in subrequests):
        raise SalesforceError(400, "JSON_PARSER_ERROR", "Each subrequest must be a JSON object")
    if len(subrequests) > MAX_SUBREQUESTS:
        raise SalesforceError(
            400, "LIMIT_EXCEEDED", f"Limit of {MAX_SUBREQUESTS} subrequests exceeded"
        )
    limited = sum(1 for sub in subrequests if _is_collection_or_query(sub))
    if limited > MAX_COLLECTIONS:
        raise SalesforceError(
            400,
            "LIMIT_EXCEEDED",
            f"A composite request can hold at most {MAX_COLLECTIONS} sObject Collections "
            "or query subrequests",
        )
    if rest_composite._bool(body.get("allOrNone")):
        raise SalesforceError(
            400, "NOT_SUPPORTED", "The emulator does not support allOrNone on composite requests"
        )
    return subrequests


def _is_collection_or_query(sub: dict) -> bool:
    path = urlsplit(str(sub.get("url"))).path
    return bool(_COLLECTIONS_URL.match(path) or _QUERY_URL.match(path))


def _query(request: web.Request, sub: dict, match: re.Match) -> tuple[int, object]:
    headers = sub.get("httpHeaders") if isinstance(sub.get("httpHeaders"), dict) else {}
    if match["locator"]:
        body = rest_query.next_page(request.app, version=match["version"], locator=match["locator"])
    else:
        text = parse_qs(urlsplit(str(sub["url"])).query).get("q", [None])[0]
        body = rest_query.first_page(
            request.app,
            org_of(request),
            version=match["version"],
            endpoint=match["endpoint"],
            text=text,
            options=str(headers.get("Sforce-Query-Options", "")),
        )
    return 200, body


def _answer(request: web.Request, sub: dict) -> tuple[int, object]:
    method = str(sub.get("method", "")).upper()
    query = _QUERY_URL.match(urlsplit(str(sub.get("url"))).path)
    if query is not None and method == "GET":
        return _query(request, sub, query)
    if not _COLLECTIONS_URL.match(str(sub.get("url"))) or method not in _OPERATIONS:
        raise SalesforceError(
            400,
            "NOT_SUPPORTED",
            "The emulator's composite resource accepts only sObject Collections POST and PATCH "
            "and query GET subrequests",
        )
    body = sub.get("body")
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise SalesforceError(
            400, "JSON_PARSER_ERROR", "Expected a JSON object with a 'records' array"
        )
    records = body["records"]
    if len(records) > rest_composite.MAX_RECORDS:
        raise rest_composite._too_many()
    operation = _OPERATIONS[method]
    ids = None
    if method == "PATCH":
        ids = [r.get("Id") if isinstance(r, dict) else None for r in records]
    results = rest_composite.run_batch(
        org_of(request),
        records,
        operation,
        all_or_none=rest_composite._bool(body.get("allOrNone")),
        user_id=request["user_id"],
        client=request["client"],
        ids=ids,
    )
    return 200, results


async def composite(request: web.Request) -> web.Response:
    replies = []
    for sub in _parse(await read_json(request)):
        try:
            status, body = _answer(request, sub)
        except SalesforceError as error:
            status, body = error.status, [error.as_dict()]
        replies.append(
            {
                "body": body,
                "httpHeaders": {},
                "httpStatusCode": status,
                "referenceId": sub.get("referenceId"),
            }
        )
    return json_response({"compositeResponse": replies})


def setup(app: web.Application) -> None:
    add_routes(app, "POST", "/services/data/{version}/composite", composite)
