"""The REST API under ``/services/``: versions, auth, limits, faults, errors, stats.

Handlers live in rest_records (sObjects, describe), rest_query (SOQL with paging) and
rest_composite (sObject Collections, emailSimple), rest_composite_batch (composite with
Collections subrequests); this module wraps them all.
"""

from __future__ import annotations

import asyncio
import logging
import re

from aiohttp import web

from sf_emulator import (
    rest_actions,
    rest_composite,
    rest_composite_batch,
    rest_query,
    rest_records,
    tooling,
)
from sf_emulator.errors import SalesforceError
from sf_emulator.faults import ERROR_BODIES
from sf_emulator.org import Org
from sf_emulator.rest_http import Handler, add_routes, json_response, not_found

log = logging.getLogger(__name__)
API_VERSIONS = tuple(f"{number}.0" for number in range(55, 63))
RELEASES = {
    "55.0": "Summer '22",
    "56.0": "Winter '23",
    "57.0": "Spring '23",
    "58.0": "Summer '23",
    "59.0": "Winter '24",
    "60.0": "Spring '24",
    "61.0": "Summer '24",
    "62.0": "Winter '25",
}
_DATA_PATH = re.compile(r"^/services/data/v(?P<version>[^/]+)(?P<rest>/.*)?$")
_CLIENT = re.compile(r"(?:^|[,;\s])client=(?P<client>[^,;\s]+)", re.IGNORECASE)
_GROUPS = {
    "query": "query",
    "queryAll": "query",
    "sobjects": "sobjects",
    "composite": "composite",
    "actions": "actions",
    "limits": "limits",
}


def error_response(errors: list[dict], *, status: int) -> web.Response:
    return json_response(errors, status=status)


def endpoint_group(path: str) -> str:
    """The fault/stats group of a request path."""
    if path.startswith("/services/oauth2/"):
        return "oauth"
    match = _DATA_PATH.match(path)
    if not match or not match["rest"]:
        return "other"
    parts = [part for part in match["rest"].split("/") if part]
    if not parts:
        return "other"
    if parts[0] == "sobjects" and (len(parts) == 1 or parts[-1] == "describe"):
        return "describe"
    return _GROUPS.get(parts[0], "other")


@web.middleware
async def salesforce_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/services/"):
        return await handler(request)
    org: Org = request.app["org"]
    group = endpoint_group(request.path)
    delay = org.faults.delay_seconds(baseline_ms=org.api_latency_ms)
    if delay:
        await asyncio.sleep(delay)
    if org.faults.should_drop(group) and request.transport is not None:
        request.transport.abort()
        raise asyncio.CancelledError
    response = await _respond(request, handler, org, group)
    response.headers["Sforce-Limit-Info"] = org.usage.header()
    org.stats.record(
        endpoint=f"{request.method} {group}", user_id=request.get("user_id"), status=response.status
    )
    return response


async def _respond(
    request: web.Request, handler: Handler, org: Org, group: str
) -> web.StreamResponse:
    try:
        status = org.faults.error_for(group)
        if status is not None:
            return error_response([{**ERROR_BODIES[status], "fields": []}], status=status)
        if group != "oauth":
            _prepare_data_call(request, org)
        return await handler(request)
    except SalesforceError as error:
        return error_response([error.as_dict()], status=error.status)
    except web.HTTPMethodNotAllowed as error:
        allowed = ",".join(sorted(error.allowed_methods))
        message = f"HTTP Method '{request.method}' not allowed. Allowed are {allowed}"
        return error_response([{"errorCode": "METHOD_NOT_ALLOWED", "message": message}], status=405)
    except web.HTTPNotFound:
        return error_response([not_found().as_dict()], status=404)
    except web.HTTPException as error:
        return error_response(
            [{"errorCode": "UNKNOWN_EXCEPTION", "message": error.reason}], status=error.status
        )
    except Exception:
        log.exception("unexpected failure on %s %s", request.method, request.path)
        return error_response([{**ERROR_BODIES[500], "fields": []}], status=500)


def _prepare_data_call(request: web.Request, org: Org) -> None:
    """Check version, session and the daily limit; note the caller's options on the request."""
    match = _DATA_PATH.match(request.path)
    if match is None:
        if request.path.rstrip("/") == "/services/data":
            return
        raise not_found()
    if match["version"] not in API_VERSIONS:
        raise not_found()
    request["version"] = match["version"]
    token = _bearer_token(request.headers.get("Authorization", ""))
    session = org.sessions.validate(token) if token else None
    if session is None:
        raise SalesforceError(401, "INVALID_SESSION_ID", "Session expired or invalid")
    request["user_id"] = session.user_id
    options = _CLIENT.search(request.headers.get("Sforce-Call-Options", ""))
    request["client"] = options["client"] if options else None
    request["auto_assign"] = request.headers.get("Sforce-Auto-Assign", "TRUE").upper() != "FALSE"
    if not org.usage.try_consume():
        raise SalesforceError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")


def _bearer_token(header: str) -> str | None:
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() in ("bearer", "oauth") and token.strip():
        return token.strip()
    return None


async def versions(request: web.Request) -> web.Response:
    return json_response(
        [{"label": RELEASES[v], "url": f"/services/data/v{v}", "version": v} for v in API_VERSIONS]
    )


async def resources(request: web.Request) -> web.Response:
    base = f"/services/data/v{request['version']}"
    names = ("sobjects", "query", "queryAll", "composite", "actions", "limits")
    return json_response({name: f"{base}/{name}" for name in names})


async def limits(request: web.Request) -> web.Response:
    org: Org = request.app["org"]
    used = org.usage.used()
    return json_response(
        {
            "DailyApiRequests": {
                "Max": org.usage.limit,
                "Remaining": max(0, org.usage.limit - used),
            },
            "DailyStreamingApiEvents": {"Max": 1_000_000, "Remaining": 1_000_000},
            "DailyDeliveredPlatformEvents": {"Max": 1_000_000, "Remaining": 1_000_000},
            "SingleEmail": {"Max": 5000, "Remaining": 5000},
            "DataStorageMB": {"Max": 5000, "Remaining": 5000},
        }
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/services/data", versions)
    app.router.add_get("/services/data/", versions)
    add_routes(app, "GET", "/services/data/{version}", resources)
    add_routes(app, "GET", "/services/data/{version}/limits", limits)
    rest_query.setup(app)
    rest_records.setup(app)
    rest_composite.setup(app)
    rest_composite_batch.setup(app)
    rest_actions.setup(app)
    tooling.setup(app)
