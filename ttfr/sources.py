"""The SOQL the TTFR workload runs: a handful of batched queries, never one per lead."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from salesforce.records import soql_datetime

LEAD_FIELDS = (
    "Id, CreatedDate, OwnerId, LeadSource, IsConverted, "
    "First_Response_At__c, First_Response_User__c, Time_to_First_Response__c"
)
TASK_FIELDS = "Id, WhoId, OwnerId, TaskSubtype, Status, IsClosed, CompletedDateTime, CreatedDate"
EMAIL_FIELDS = (
    "Id, ActivityId, Incoming, Status, MessageDate, CreatedDate, CreatedById, FromAddress"
)
RELATION_FIELDS = (
    "Id, EmailMessageId, RelationId, EmailMessage.Incoming, EmailMessage.Status, "
    "EmailMessage.MessageDate, EmailMessage.CreatedDate, EmailMessage.CreatedById, "
    "EmailMessage.FromAddress"
)
SENT_OUTBOUND = "EmailMessage.Incoming = false AND EmailMessage.Status = '3'"
RESPONSE_TASKS = "TaskSubtype IN ('Call', 'Email', 'LinkedIn')"


class QueryClient(Protocol):
    def query_all(self, soql: str) -> list[dict]: ...

    def query_all_many(self, queries: Sequence[str]) -> list[list[dict]]: ...

    def query_ids(self, template: str, ids: list[str], *, chunk: int = 200) -> list[dict]: ...

    def query_ids_many(
        self, templates: Sequence[str], ids: Sequence[str], *, chunk: int = 200
    ) -> list[list[dict]]: ...


@dataclass
class TouchRows:
    """Everything the rules need to find the touches of some leads."""

    tasks: list[dict] = field(default_factory=list)
    relations: list[dict] = field(default_factory=list)
    activity_emails: list[dict] = field(default_factory=list)


def leads_with_touch_rows(
    *, client: QueryClient, lead_ids: Iterable[str]
) -> tuple[list[dict], TouchRows]:
    """The leads and their tasks, email relations and activity emails: the first three read
    together (one composite call per 200 leads), then the activity emails of their email tasks."""
    ids = sorted(set(lead_ids))
    if not ids:
        return [], TouchRows()
    leads, tasks, relations = client.query_ids_many(
        [
            f"SELECT {LEAD_FIELDS} FROM Lead WHERE Id IN ({{ids}})",
            f"SELECT {TASK_FIELDS} FROM Task WHERE WhoId IN ({{ids}})",
            f"SELECT {RELATION_FIELDS} FROM EmailMessageRelation WHERE RelationId IN ({{ids}})",
        ],
        ids,
    )
    email_task_ids = sorted(t["Id"] for t in tasks if t.get("TaskSubtype") == "Email")
    activity_emails = (
        client.query_ids(
            f"SELECT {EMAIL_FIELDS} FROM EmailMessage WHERE ActivityId IN ({{ids}})",
            email_task_ids,
        )
        if email_task_ids
        else []
    )
    return leads, TouchRows(tasks=tasks, relations=relations, activity_emails=activity_emails)


def task_leads_get(*, client: QueryClient, task_ids: Iterable[str]) -> dict[str, str]:
    """Task id → WhoId, for tasks whose change event did not say which lead they belong to."""
    ids = sorted(set(task_ids))
    if not ids:
        return {}
    rows = client.query_ids("SELECT Id, WhoId FROM Task WHERE Id IN ({ids})", ids)
    return {row["Id"]: row.get("WhoId") or "" for row in rows}


def email_relations_get(*, client: QueryClient, email_ids: Iterable[str]) -> list[dict]:
    ids = sorted(set(email_ids))
    if not ids:
        return []
    return client.query_ids(
        "SELECT EmailMessageId, RelationId FROM EmailMessageRelation "
        "WHERE EmailMessageId IN ({ids})",
        ids,
    )


def history_since(*, client: QueryClient, since: dt.datetime) -> tuple[list[dict], TouchRows]:
    """Leads created since ``since`` (in CreatedDate, Id order) and every candidate touch
    created since then, for the backfill: four paged queries read together, so the calls are
    the pages of the longest query (leads: 2,000 a page), not the sum of all pages.

    A lead's touches are created after the lead, so touches of leads created since ``since``
    are all among them. Activity emails are fetched in both directions: a Task that is an
    inbound email's activity must be recognised to be ignored.
    """
    stamp = soql_datetime(since)
    leads, tasks, relations, activity_emails = client.query_all_many(
        [
            f"SELECT {LEAD_FIELDS} FROM Lead WHERE CreatedDate >= {stamp} ORDER BY CreatedDate, Id",
            f"SELECT {TASK_FIELDS} FROM Task WHERE CreatedDate >= {stamp} AND WhoId != null "
            f"AND {RESPONSE_TASKS} AND IsClosed = true",
            f"SELECT {RELATION_FIELDS} FROM EmailMessageRelation "
            f"WHERE EmailMessage.CreatedDate >= {stamp} AND {SENT_OUTBOUND}",
            f"SELECT {EMAIL_FIELDS} FROM EmailMessage "
            f"WHERE CreatedDate >= {stamp} AND ActivityId != null",
        ]
    )
    return leads, TouchRows(tasks=tasks, relations=relations, activity_emails=activity_emails)
