"""The control API under ``/__emulator__/`` (loopback peers only): records as humans write
them, field history and write counts, stats, faults and reset."""

from __future__ import annotations

import ipaddress

from aiohttp import web

from sf_emulator.errors import SalesforceError
from sf_emulator.org import Org
from sf_emulator.rest_http import Handler, json_response, org_of, read_json
from sf_emulator.schema import SCHEMA, canonical_field, canonical_sobject

PREFIX = "/__emulator__"


@web.middleware
async def loopback_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse control calls from anything but 127.0.0.0/8 or ::1; turn errors into JSON."""
    if not request.path.startswith(PREFIX + "/"):
        return await handler(request)
    if not _is_loopback(request.remote):
        return json_response({"error": "the control API accepts loopback peers only"}, status=403)
    try:
        return await handler(request)
    except SalesforceError as error:
        return json_response([error.as_dict()], status=error.status)
    except ValueError as error:
        return json_response({"error": str(error)}, status=400)
    except web.HTTPNotFound:
        return json_response({"error": f"no control endpoint {request.path}"}, status=404)


def _is_loopback(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False


def _sobject(request: web.Request) -> str:
    name = canonical_sobject(request.match_info["sobject"])
    if name is None:
        raise SalesforceError(404, "NOT_FOUND", f"unknown sObject {request.match_info['sobject']}")
    return name


def _split_actor(org: Org, fields: object) -> tuple[dict, str, str | None]:
    if not isinstance(fields, dict):
        raise ValueError("expected a JSON object of fields")
    fields = dict(fields)
    user_id = str(fields.pop("_user_id", None) or org.default_sales_user_id())
    client = fields.pop("_client", None)
    if org.store.get("User", user_id) is None:
        raise ValueError(f"_user_id {user_id} is not a user of this org")
    return fields, user_id, client


async def create_records(request: web.Request) -> web.Response:
    """Create one record (a JSON object) or several (a JSON list) as a human user."""
    org = org_of(request)
    sobject = _sobject(request)
    body = await read_json(request)
    if isinstance(body, list):
        ids = []
        with org.store.transaction(user_id=org.default_sales_user_id()) as tx:
            for item in body:
                fields, user_id, client = _split_actor(org, item)
                ids.append(
                    org.store.create(
                        sobject, fields, user_id=user_id, client=client, system=True, tx=tx
                    )
                )
        return json_response({"ids": ids}, status=201)
    fields, user_id, client = _split_actor(org, body)
    record_id = org.store.create(sobject, fields, user_id=user_id, client=client, system=True)
    return json_response({"id": record_id}, status=201)


async def update_record(request: web.Request) -> web.Response:
    org = org_of(request)
    sobject = _sobject(request)
    fields, user_id, client = _split_actor(org, await read_json(request))
    record_id = request.match_info["record_id"]
    org.store.update(sobject, record_id, fields, user_id=user_id, client=client, system=True)
    return json_response({"id": record_id})


async def get_record(request: web.Request) -> web.Response:
    org = org_of(request)
    record = org.store.get(_sobject(request), request.match_info["record_id"], include_deleted=True)
    if record is None:
        raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
    return json_response(record)


async def history(request: web.Request) -> web.Response:
    org = org_of(request)
    return json_response(org.store.history(_sobject(request), request.match_info["record_id"]))


async def write_counts(request: web.Request) -> web.Response:
    """``?field=<name>[&user_id=<id>]``: writes of the field per record id (records never
    written left out), same-value writes included."""
    org = org_of(request)
    sobject = _sobject(request)
    field_name = canonical_field(sobject, request.query.get("field", ""))
    if field_name is None:
        raise ValueError(f"field must name a field of {sobject}")
    user_id = request.query.get("user_id") or None
    return json_response(org.store.write_counts(sobject, field_name, user_id=user_id))


async def stats(request: web.Request) -> web.Response:
    """API calls, usage, records by object and, with streaming installed, the stream's counters."""
    org = org_of(request)
    body = org.stats.snapshot()
    body["api_usage"] = {"used": org.usage.used(), "limit": org.usage.limit}
    body["records"] = {name: org.store.count(name) for name in SCHEMA}
    if org.events is not None:
        streaming = org.events.stats()
        body["events_published"] = streaming["events_published"]
        body["streaming"] = streaming
    return json_response(body)


async def get_faults(request: web.Request) -> web.Response:
    return json_response(org_of(request).faults.snapshot())


async def set_faults(request: web.Request) -> web.Response:
    """Merge fault settings; ``"clear": true`` first resets REST and stream faults alike."""
    org = org_of(request)
    body = await read_json(request)
    if not isinstance(body, dict):
        raise ValueError("expected a JSON object")
    stream = body.get("stream")
    if stream is not None and org.events is None:
        raise ValueError("stream faults need the streaming feature, which is not installed")
    org.faults.apply(body)
    if body.get("limit_exhausted"):
        org.usage.exhaust()
    if body.get("expire_sessions"):
        org.sessions.expire_all()
    if org.events is not None and body.get("clear"):
        org.events.reset_faults()
    if org.events is not None and stream is not None:
        org.events.apply_faults(stream)
    return json_response(org.faults.snapshot())


async def reset(request: web.Request) -> web.Response:
    org_of(request).reset()
    return json_response({"reset": True})


def setup(app: web.Application) -> None:
    app.router.add_post(PREFIX + "/records/{sobject}", create_records)
    app.router.add_get(PREFIX + "/records/{sobject}/{record_id}", get_record)
    app.router.add_patch(PREFIX + "/records/{sobject}/{record_id}", update_record)
    app.router.add_get(PREFIX + "/history/{sobject}/{record_id}", history)
    app.router.add_get(PREFIX + "/writes/{sobject}", write_counts)
    app.router.add_get(PREFIX + "/stats", stats)
    app.router.add_get(PREFIX + "/faults", get_faults)
    app.router.add_post(PREFIX + "/faults", set_faults)
    app.router.add_post(PREFIX + "/reset", reset)
