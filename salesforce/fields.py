"""The fields the app reads per object, for polling and reconciliation queries."""

from __future__ import annotations

QUERY_FIELDS: dict[str, tuple[str, ...]] = {
    "Lead": (
        "Id",
        "FirstName",
        "LastName",
        "Company",
        "Title",
        "Email",
        "Country",
        "NumberOfEmployees",
        "Industry",
        "LeadSource",
        "Description",
        "Status",
        "OwnerId",
        "IsConverted",
        "HasOptedOutOfEmail",
        "CreatedDate",
        "CreatedById",
        "LastModifiedDate",
        "LastModifiedById",
        "SystemModstamp",
        "First_Response_At__c",
        "First_Response_User__c",
        "Time_to_First_Response__c",
    ),
    "Task": (
        "Id",
        "WhoId",
        "OwnerId",
        "Subject",
        "TaskSubtype",
        "Status",
        "CompletedDateTime",
        "CreatedDate",
        "CreatedById",
        "LastModifiedDate",
        "LastModifiedById",
        "SystemModstamp",
    ),
    "EmailMessage": (
        "Id",
        "Incoming",
        "Status",
        "MessageDate",
        "FromAddress",
        "ToAddress",
        "Subject",
        "ActivityId",
        "CreatedDate",
        "CreatedById",
        "LastModifiedDate",
        "LastModifiedById",
        "SystemModstamp",
    ),
}


def select_clause(entity: str) -> str:
    return "SELECT " + ", ".join(QUERY_FIELDS[entity]) + f" FROM {entity}"
