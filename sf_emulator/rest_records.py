"""sObject rows and metadata: ``sobjects/``, ``sobjects/<T>/``, ``.../describe``, ``.../<id>``."""

from __future__ import annotations

from aiohttp import web

from sf_emulator.errors import SalesforceError
from sf_emulator.fieldinfo import FieldInfo
from sf_emulator.ids import KEY_PREFIXES, is_valid_id, sobject_for_id
from sf_emulator.rest_http import add_routes, json_response, not_found, org_of, read_json
from sf_emulator.schema import LABELS, SCHEMA, canonical_field, canonical_sobject
from sf_emulator.values import to_json

_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
}


def sobject_from(request: web.Request) -> str:
    name = canonical_sobject(request.match_info["sobject"])
    if name is None:
        raise not_found()
    return name


def record_json(sobject: str, record: dict, version: str, fields: list[str] | None = None) -> dict:
    names = fields if fields is not None else list(record)
    body: dict[str, object] = {
        "attributes": {
            "type": sobject,
            "url": f"/services/data/v{version}/sobjects/{sobject}/{record['Id']}",
        }
    }
    body.update({name: to_json(record.get(name)) for name in names})
    return body


def sobject_urls(sobject: str, version: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{sobject}"
    return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}


def object_summary(sobject: str, version: str) -> dict[str, object]:
    label, plural = LABELS[sobject]
    return {
        "name": sobject,
        "label": label,
        "labelPlural": plural,
        "keyPrefix": KEY_PREFIXES[sobject],
        "custom": False,
        "createable": sobject not in ("User", "Group"),
        "updateable": True,
        "deletable": sobject not in ("User",),
        "queryable": True,
        "retrieveable": True,
        "searchable": True,
        "urls": sobject_urls(sobject, version),
    }


def field_json(info: FieldInfo) -> dict[str, object]:
    return {
        "name": info.name,
        "label": info.label,
        "type": info.type,
        "soapType": _SOAP_TYPES.get(info.type, "xsd:string"),
        "length": info.length,
        "nillable": info.nillable,
        "createable": info.createable,
        "updateable": info.updateable,
        "custom": info.name.endswith("__c"),
        "calculated": False,
        "filterable": True,
        "sortable": info.type != "textarea",
        "defaultedOnCreate": info.name in ("Id", "OwnerId", "CreatedDate", "CreatedById"),
        "referenceTo": list(info.reference_to),
        "relationshipName": info.relationship_name,
        "picklistValues": [
            {"active": True, "defaultValue": False, "label": value, "value": value}
            for value in info.picklist_values
        ],
    }


async def describe_global(request: web.Request) -> web.Response:
    version = request["version"]
    return json_response(
        {
            "encoding": "UTF-8",
            "maxBatchSize": 200,
            "sobjects": [object_summary(name, version) for name in SCHEMA],
        }
    )


async def sobject_info(request: web.Request) -> web.Response:
    sobject = sobject_from(request)
    return json_response(
        {"objectDescribe": object_summary(sobject, request["version"]), "recentItems": []}
    )


async def describe(request: web.Request) -> web.Response:
    sobject = sobject_from(request)
    body = object_summary(sobject, request["version"])
    body["fields"] = [field_json(info) for info in SCHEMA[sobject].values()]
    body["childRelationships"] = []
    return json_response(body)


async def create(request: web.Request) -> web.Response:
    sobject = sobject_from(request)
    fields = await read_json(request)
    if not isinstance(fields, dict):
        raise SalesforceError(
            400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of {sobject} from START_ARRAY"
        )
    record_id = org_of(request).store.create(
        sobject, fields, user_id=request["user_id"], client=request["client"]
    )
    response = json_response({"id": record_id, "success": True, "errors": []}, status=201)
    response.headers["Location"] = (
        sobject_urls(sobject, request["version"])["sobject"] + "/" + record_id
    )
    return response


def _checked_id(sobject: str, record_id: str) -> str:
    if not is_valid_id(record_id) or sobject_for_id(record_id) != sobject:
        raise SalesforceError(
            400, "MALFORMED_ID", f"{sobject} ID: id value of incorrect type: {record_id}", ["Id"]
        )
    return record_id


async def get_record(request: web.Request) -> web.Response:
    sobject = sobject_from(request)
    record_id = _checked_id(sobject, request.match_info["record_id"])
    record = org_of(request).store.get(sobject, record_id, include_deleted=True)
    if record is None:
        raise not_found()
    if record["IsDeleted"]:
        raise SalesforceError(404, "ENTITY_IS_DELETED", "entity is deleted")
    fields = None
    if request.query.get("fields"):
        fields = []
        for name in request.query["fields"].split(","):
            canonical = canonical_field(sobject, name.strip())
            if canonical is None:
                raise SalesforceError(
                    400, "INVALID_FIELD", f"No such column '{name.strip()}' on entity '{sobject}'"
                )
            fields.append(canonical)
    return json_response(record_json(sobject, record, request["version"], fields))


async def update(request: web.Request) -> web.Response:
    sobject = sobject_from(request)
    record_id = _checked_id(sobject, request.match_info["record_id"])
    fields = await read_json(request)
    if not isinstance(fields, dict):
        raise SalesforceError(
            400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of {sobject} from START_ARRAY"
        )
    org_of(request).store.update(
        sobject, record_id, fields, user_id=request["user_id"], client=request["client"]
    )
    return web.Response(status=204)


async def delete(request: web.Request) -> web.Response:
    sobject = sobject_from(request)
    record_id = _checked_id(sobject, request.match_info["record_id"])
    org_of(request).store.delete(
        sobject, record_id, user_id=request["user_id"], client=request["client"]
    )
    return web.Response(status=204)


def setup(app: web.Application) -> None:
    base = "/services/data/{version}/sobjects"
    add_routes(app, "GET", base, describe_global)
    add_routes(app, "GET", base + "/{sobject}", sobject_info)
    add_routes(app, "POST", base + "/{sobject}", create)
    add_routes(app, "GET", base + "/{sobject}/describe", describe)
    add_routes(app, "GET", base + "/{sobject}/{record_id}", get_record)
    add_routes(app, "PATCH", base + "/{sobject}/{record_id}", update)
    add_routes(app, "DELETE", base + "/{sobject}/{record_id}", delete)
