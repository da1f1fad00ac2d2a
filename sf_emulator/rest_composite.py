"""``composite/sobjects`` (sObject Collections) and ``actions/standard/emailSimple``."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from sf_emulator.errors import SalesforceError
from sf_emulator.ids import is_valid_id, sobject_for_id
from sf_emulator.org import Org
from sf_emulator.rest_http import add_routes, json_response, org_of, read_json
from sf_emulator.schema import canonical_sobject
from sf_emulator.store import Transaction

MAX_RECORDS = 200
ROLLED_BACK = SalesforceError(
    400,
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using AllOrNone "
    "header",
)
Operation = Callable[[Org, Transaction, object], str]


class _RollBack(Exception):
    """Raised inside the store transaction to undo an allOrNone batch."""


def _too_many() -> SalesforceError:
    return SalesforceError(
        400,
        "EXCEEDED_ID_LIMIT",
        f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call",
    )


def _bool(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _record_type(record: object) -> tuple[str, dict]:
    if not isinstance(record, dict):
        raise SalesforceError(400, "JSON_PARSER_ERROR", "Each record must be a JSON object")
    attributes = record.get("attributes")
    name = attributes.get("type") if isinstance(attributes, dict) else None
    sobject = canonical_sobject(name) if isinstance(name, str) else None
    if sobject is None:
        raise SalesforceError(
            400,
            "INVALID_TYPE",
            f"sObject type '{name}' is not supported."
            if name
            else "Must specify a type in attributes",
        )
    return sobject, {k: v for k, v in record.items() if k != "attributes"}


def _create(org: Org, tx: Transaction, record: object) -> str:
    sobject, fields = _record_type(record)
    if "Id" in fields or "id" in fields:
        raise SalesforceError(400, "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
    return org.store.create(sobject, fields, user_id=tx.user_id, client=tx.client, tx=tx)


def _update(org: Org, tx: Transaction, record: object) -> str:
    sobject, fields = _record_type(record)
    record_id = fields.pop("Id", None) or fields.pop("id", None)
    if not record_id:
        raise SalesforceError(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
    org.store.update(sobject, str(record_id), fields, user_id=tx.user_id, client=tx.client, tx=tx)
    return str(record_id)


def _delete(org: Org, tx: Transaction, record_id: object) -> str:
    text = str(record_id).strip()
    sobject = sobject_for_id(text) if is_valid_id(text) else None
    if sobject is None or canonical_sobject(sobject) is None:
        raise SalesforceError(400, "MALFORMED_ID", f"malformed id {text}")
    try:
        org.store.delete(sobject, text, user_id=tx.user_id, client=tx.client, tx=tx)
    except SalesforceError as error:
        if error.status == 404:
            raise SalesforceError(400, "ENTITY_IS_DELETED", "entity is deleted") from None
        raise
    return text


def run_batch(
    org: Org,
    items: list,
    operation: Operation,
    *,
    all_or_none: bool,
    user_id: str,
    client: str | None,
    ids: list[str | None] | None = None,
) -> list[dict]:
    """Apply ``operation`` to each item in one transaction; a result per item, in order."""
    results: list[dict] = []
    try:
        with org.store.transaction(user_id=user_id, client=client) as tx:
            for position, item in enumerate(items):
                known_id = ids[position] if ids else None
                try:
                    record_id = operation(org, tx, item)
                    results.append({"id": record_id, "success": True, "errors": []})
                except SalesforceError as error:
                    results.append(
                        {"id": known_id, "success": False, "errors": [error.as_status_dict()]}
                    )
            if all_or_none and any(not r["success"] for r in results):
                raise _RollBack
    except _RollBack:
        for result in results:
            if result["success"]:
                result.update(id=None, success=False, errors=[ROLLED_BACK.as_status_dict()])
    for result in results:
        if result["id"] is None and operation is _create:
            del result["id"]
    return results


async def _collection(request: web.Request, operation: Operation) -> web.Response:
    body = await read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise SalesforceError(
            400, "JSON_PARSER_ERROR", "Expected a JSON object with a 'records' array"
        )
    records = body["records"]
    if len(records) > MAX_RECORDS:
        raise _too_many()
    ids = None
    if operation is _update:
        ids = [r.get("Id") if isinstance(r, dict) else None for r in records]
    results = run_batch(
        org_of(request),
        records,
        operation,
        all_or_none=_bool(body.get("allOrNone")),
        user_id=request["user_id"],
        client=request["client"],
        ids=ids,
    )
    return json_response(results)


async def collection_create(request: web.Request) -> web.Response:
    return await _collection(request, _create)


async def collection_update(request: web.Request) -> web.Response:
    return await _collection(request, _update)


async def collection_delete(request: web.Request) -> web.Response:
    raw = request.query.get("ids", "")
    ids = [part for part in raw.split(",") if part.strip()]
    if not ids:
        raise SalesforceError(400, "MISSING_ARGUMENT", "ids parameter is required", ["ids"])
    if len(ids) > MAX_RECORDS:
        raise _too_many()
    results = run_batch(
        org_of(request),
        ids,
        _delete,
        all_or_none=_bool(request.query.get("allOrNone")),
        user_id=request["user_id"],
        client=request["client"],
        ids=list(ids),
    )
    return json_response(results)


def setup(app: web.Application) -> None:
    base = "/services/data/{version}/composite/sobjects"
    add_routes(app, "POST", base, collection_create)
    add_routes(app, "PATCH", base, collection_update)
    add_routes(app, "DELETE", base, collection_delete)
