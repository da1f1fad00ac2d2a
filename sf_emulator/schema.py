"""The emulated sObjects and their fields (what describe() reports and the store enforces)."""

from __future__ import annotations

from collections.abc import Iterable

from sf_emulator.fieldinfo import FieldInfo, FieldType
from sf_emulator.ids import KEY_PREFIXES

SYSTEM_FIELDS = (
    "CreatedDate",
    "CreatedById",
    "LastModifiedDate",
    "LastModifiedById",
    "SystemModstamp",
)
LEAD_STATUSES = (
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
)
TASK_STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")
TASK_SUBTYPES = ("Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn")
EMAIL_STATUSES = ("0", "1", "2", "3", "4", "5")
RELATION_TYPES = ("ToAddress", "CcAddress", "BccAddress", "FromAddress", "OtherAddress")
INDUSTRIES = (
    "Agriculture",
    "Banking",
    "Education",
    "Energy",
    "Finance",
    "Healthcare",
    "Manufacturing",
    "Media",
    "Retail",
    "Technology",
    "Telecommunications",
    "Transportation",
)
LEAD_SOURCES = (
    "Web",
    "Phone Inquiry",
    "Partner Referral",
    "Trade Show",
    "Webinar",
    "Purchased List",
    "Other",
)


def _f(name: str, type_: FieldType, **options: object) -> FieldInfo:
    label = options.pop("label", None) or name.removesuffix("__c").replace("_", " ")
    length = options.pop("length", 255 if type_ in ("string", "email", "phone", "url") else 0)
    return FieldInfo(name=name, type=type_, label=str(label), length=int(length), **options)  # type: ignore[arg-type]


def _readonly(name: str, type_: FieldType, **options: object) -> FieldInfo:
    return _f(name, type_, createable=False, updateable=False, **options)


def _ref(name: str, targets: tuple[str, ...], relationship: str, **options: object) -> FieldInfo:
    return _f(
        name,
        "reference",
        length=18,
        reference_to=targets,
        relationship_name=relationship,
        **options,
    )


def _common() -> list[FieldInfo]:
    return [
        _readonly("Id", "id", length=18, nillable=False),
        _readonly("IsDeleted", "boolean", nillable=False),
        _readonly("CreatedDate", "datetime", nillable=False),
        _ref("CreatedById", ("User",), "CreatedBy", createable=False, updateable=False),
        _readonly("LastModifiedDate", "datetime", nillable=False),
        _ref("LastModifiedById", ("User",), "LastModifiedBy", createable=False, updateable=False),
        _readonly("SystemModstamp", "datetime", nillable=False),
    ]


def _lead() -> list[FieldInfo]:
    return [
        _f("FirstName", "string", length=40),
        _f("LastName", "string", length=80, nillable=False, required_on_create=True),
        _readonly("Name", "string", length=121),
        _f("Salutation", "picklist", length=40),
        _f("Title", "string", length=128),
        _f("Company", "string", nillable=False, required_on_create=True),
        _f("Email", "email", length=80),
        _f("Phone", "phone", length=40),
        _f("Website", "url"),
        _f("Street", "textarea"),
        _f("City", "string", length=40),
        _f("State", "string", length=80),
        _f("PostalCode", "string", length=20),
        _f("Country", "string", length=80),
        _f("NumberOfEmployees", "int"),
        _f("AnnualRevenue", "currency"),
        _f("Industry", "picklist", length=40, picklist_values=INDUSTRIES),
        _f("LeadSource", "picklist", length=40, picklist_values=LEAD_SOURCES),
        _f("Rating", "picklist", length=40, picklist_values=("Hot", "Warm", "Cold")),
        _f("Description", "textarea", length=32000),
        _f("Status", "picklist", length=40, nillable=False, picklist_values=LEAD_STATUSES),
        _ref("OwnerId", ("Group", "User"), "Owner", nillable=False),
        _f("IsConverted", "boolean", nillable=False, updateable=False),
        _readonly("ConvertedDate", "date"),
        _f("IsUnreadByOwner", "boolean", nillable=False),
        _f("HasOptedOutOfEmail", "boolean", nillable=False),
        _readonly("LastActivityDate", "date"),
        _f("First_Response_At__c", "datetime", label="First Response At"),
        _ref(
            "First_Response_User__c",
            ("User",),
            "First_Response_User__r",
            label="First Response User",
        ),
        _f("Time_to_First_Response__c", "double", label="Time to First Response (min)"),
    ]


def _task() -> list[FieldInfo]:
    return [
        _ref("WhoId", ("Lead",), "Who"),
        _ref("OwnerId", ("User",), "Owner", nillable=False),
        _f("Subject", "string"),
        _f("Description", "textarea", length=32000),
        _f("TaskSubtype", "picklist", length=40, updateable=False, picklist_values=TASK_SUBTYPES),
        _f("Type", "picklist", length=40, picklist_values=("Call", "Email", "Meeting", "Other")),
        _f("Status", "picklist", length=40, nillable=False, picklist_values=TASK_STATUSES),
        _f("Priority", "picklist", length=40, nillable=False, picklist_values=("High", "Normal")),
        _f("ActivityDate", "date"),
        _readonly("IsClosed", "boolean", nillable=False),
        _readonly("CompletedDateTime", "datetime"),
    ]


def _email_message() -> list[FieldInfo]:
    return [
        _f("Incoming", "boolean", nillable=False),
        _f("Status", "picklist", length=40, nillable=False, picklist_values=EMAIL_STATUSES),
        _f("MessageDate", "datetime"),
        _f("FromAddress", "email"),
        _f("FromName", "string", length=1000),
        _f("ToAddress", "string", length=4000),
        _f("CcAddress", "string", length=4000),
        _f("Subject", "string", length=3000),
        _f("TextBody", "textarea", length=131072),
        _f("HtmlBody", "textarea", length=131072),
        _ref("ActivityId", ("Task",), "Activity"),
        _ref("RelatedToId", ("Lead",), "RelatedTo"),
    ]


def _email_relation() -> list[FieldInfo]:
    return [
        _ref("EmailMessageId", ("EmailMessage",), "EmailMessage", nillable=False),
        _ref("RelationId", ("Lead", "User"), "Relation"),
        _f("RelationType", "picklist", length=40, picklist_values=RELATION_TYPES),
        _f("RelationAddress", "email"),
    ]


def _user() -> list[FieldInfo]:
    return [
        _f("Username", "string", length=80, nillable=False, required_on_create=True),
        _f("FirstName", "string", length=40),
        _f("LastName", "string", length=80, nillable=False, required_on_create=True),
        _readonly("Name", "string", length=121),
        _f("Email", "email", length=128, nillable=False),
        _f("IsActive", "boolean", nillable=False),
        _f("Department", "string", length=80),
        _f("TimeZoneSidKey", "picklist", length=40),
        _f("UserType", "picklist", length=40),
        _ref("ManagerId", ("User",), "Manager"),
    ]


def _group() -> list[FieldInfo]:
    return [
        _f("Name", "string", length=40, nillable=False, required_on_create=True),
        _f("DeveloperName", "string", length=80),
        _f("Type", "picklist", length=40, picklist_values=("Queue", "Regular")),
        _f("Email", "email"),
    ]


def _index(fields: Iterable[FieldInfo]) -> dict[str, FieldInfo]:
    return {field.name: field for field in fields}


SCHEMA: dict[str, dict[str, FieldInfo]] = {
    "Lead": _index([*_common(), *_lead()]),
    "Task": _index([*_common(), *_task()]),
    "EmailMessage": _index([*_common(), *_email_message()]),
    "EmailMessageRelation": _index([*_common(), *_email_relation()]),
    "User": _index([*_common(), *_user()]),
    "Group": _index([*_common(), *_group()]),
}
LABELS: dict[str, tuple[str, str]] = {
    "Lead": ("Lead", "Leads"),
    "Task": ("Task", "Tasks"),
    "EmailMessage": ("Email Message", "Email Messages"),
    "EmailMessageRelation": ("Email Message Relation", "Email Message Relations"),
    "User": ("User", "Users"),
    "Group": ("Group", "Groups"),
}
_SOBJECTS_LOWER = {name.lower(): name for name in SCHEMA}
_FIELDS_LOWER = {
    sobject: {name.lower(): name for name in fields} for sobject, fields in SCHEMA.items()
}
REFERENCE_FIELDS: dict[str, tuple[str, ...]] = {
    sobject: tuple(name for name, info in fields.items() if info.type == "reference")
    for sobject, fields in SCHEMA.items()
}
assert set(SCHEMA) <= set(KEY_PREFIXES)


def canonical_sobject(name: str) -> str | None:
    """The defined spelling of an object name (object names are case-insensitive)."""
    return _SOBJECTS_LOWER.get(name.lower())


def canonical_field(sobject: str, name: str) -> str | None:
    """The defined spelling of a field name of ``sobject``, or None when it has no such field."""
    return _FIELDS_LOWER[sobject].get(name.lower())
