"""Helpers shared by the REST handlers: JSON in and out, errors, routes."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable

from aiohttp import web

from sf_emulator.errors import SalesforceError
from sf_emulator.org import Org
from sf_emulator.values import json_default

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
dumps = functools.partial(json.dumps, default=json_default)


def json_response(data: object, *, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=dumps)


def not_found() -> SalesforceError:
    return SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")


def org_of(request: web.Request) -> Org:
    return request.app["org"]


async def read_json(request: web.Request) -> object:
    """The request's JSON body, or a Salesforce JSON_PARSER_ERROR."""
    raw = await request.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SalesforceError(
            400, "JSON_PARSER_ERROR", f"Invalid UTF-8 start byte at position {error.start}"
        ) from None
    if not text.strip():
        raise SalesforceError(
            400,
            "JSON_PARSER_ERROR",
            "The HTTP entity body is required, but this request has no entity body.",
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise SalesforceError(
            400,
            "JSON_PARSER_ERROR",
            f"{error.msg}: was expecting a valid JSON value at "
            f"[line:{error.lineno}, column:{error.colno}]",
        ) from None


def add_routes(app: web.Application, method: str, path: str, handler: Handler) -> None:
    """Register ``path`` with and without a trailing slash (clients send either)."""
    app.router.add_route(method, path, handler)
    app.router.add_route(method, path + "/", handler)
