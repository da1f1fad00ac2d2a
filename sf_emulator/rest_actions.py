"""``actions/standard/emailSimple``: "sends" emails, storing each as a sent EmailMessage.

Each email becomes an EmailMessage (Status '3' sent, Incoming false, from the calling user)
linked to the related lead through EmailMessageRelation; with ``logEmailOnSend`` a completed
Email Task on the lead becomes the message's activity, as Enhanced Email does.
"""

from __future__ import annotations

from aiohttp import web

from sf_emulator.errors import SalesforceError
from sf_emulator.ids import is_valid_id
from sf_emulator.org import Org
from sf_emulator.rest_http import add_routes, json_response, org_of, read_json
from sf_emulator.store import Transaction

ACTION = "emailSimple"
SENDER_TYPES = ("CurrentUser", "DefaultWorkflowUser", "OrgWideEmailAddress")


def _text(entry: dict, name: str) -> str:
    value = entry.get(name)
    if isinstance(value, list):
        value = ",".join(str(item) for item in value)
    if not isinstance(value, str) or not value.strip():
        raise SalesforceError(
            400, "REQUIRED_FIELD_MISSING", f"Missing required input parameter: {name}", [name]
        )
    return value


def _related_lead(org: Org, entry: dict) -> str | None:
    related = entry.get("relatedRecordId")
    if related in (None, ""):
        return None
    record = org.store.get(str(related)) if is_valid_id(related) else None
    if record is None:
        raise SalesforceError(
            400,
            "INVALID_CROSS_REFERENCE_KEY",
            f"invalid cross reference id: relatedRecordId {related}",
            ["relatedRecordId"],
        )
    return str(record["Id"])


def _send(org: Org, tx: Transaction, entry: object) -> str:
    if not isinstance(entry, dict):
        raise SalesforceError(400, "INVALID_INPUT", "Each input must be a JSON object")
    addresses = _text(entry, "emailAddresses")
    subject = _text(entry, "emailSubject")
    body = _text(entry, "emailBody")
    sender_type = entry.get("senderType") or "CurrentUser"
    if sender_type not in SENDER_TYPES:
        raise SalesforceError(
            400, "INVALID_INPUT", f"Invalid senderType: {sender_type}", ["senderType"]
        )
    lead_id = _related_lead(org, entry)
    user = org.store.get("User", tx.user_id) or {}
    sender = entry.get("senderAddress") if sender_type == "OrgWideEmailAddress" else None
    store = org.store
    activity_id = None
    if lead_id and _truthy(entry.get("logEmailOnSend")) and lead_id.startswith("00Q"):
        activity_id = store.create(
            "Task",
            {
                "WhoId": lead_id,
                "Subject": f"Email: {subject}"[:255],
                "TaskSubtype": "Email",
                "Status": "Completed",
                "Description": body[:32000],
            },
            user_id=tx.user_id,
            client=tx.client,
            tx=tx,
        )
    message_id = store.create(
        "EmailMessage",
        {
            "Incoming": False,
            "Status": "3",
            "MessageDate": org.clock().isoformat(),
            "FromAddress": sender or user.get("Email"),
            "FromName": user.get("Name"),
            "ToAddress": addresses,
            "Subject": subject[:3000],
            "TextBody": body,
            "ActivityId": activity_id,
        },
        user_id=tx.user_id,
        client=tx.client,
        tx=tx,
    )
    relations = [("FromAddress", tx.user_id, sender or user.get("Email"))]
    if lead_id:
        relations.append(("ToAddress", lead_id, addresses.split(",")[0].strip()))
    for relation_type, relation_id, address in relations:
        store.create(
            "EmailMessageRelation",
            {
                "EmailMessageId": message_id,
                "RelationId": relation_id,
                "RelationType": relation_type,
                "RelationAddress": address,
            },
            user_id=tx.user_id,
            client=tx.client,
            tx=tx,
        )
    return message_id


def _truthy(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _result(error: SalesforceError | None) -> dict[str, object]:
    return {
        "actionName": ACTION,
        "errors": None if error is None else [error.as_status_dict()],
        "isSuccess": error is None,
        "outputValues": None,
    }


async def email_simple(request: web.Request) -> web.Response:
    body = await read_json(request)
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or not inputs:
        raise SalesforceError(400, "JSON_PARSER_ERROR", "Missing required 'inputs' parameter")
    org = org_of(request)
    results = []
    for entry in inputs:
        try:
            with org.store.transaction(user_id=request["user_id"], client=request["client"]) as tx:
                _send(org, tx, entry)
            results.append(_result(None))
        except SalesforceError as error:
            results.append(_result(error))
    status = 200 if any(result["isSuccess"] for result in results) else 400
    return json_response(results, status=status)


def setup(app: web.Application) -> None:
    add_routes(app, "POST", f"/services/data/{{version}}/actions/standard/{ACTION}", email_simple)
