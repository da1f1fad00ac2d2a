"""An in-memory stand-in for salesforce.client.SalesforceClient that understands exactly the
queries TTFR sends, and counts calls the way the real client pays for them."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
from collections.abc import Iterable, Sequence

from salesforce.client import RecordResult
from salesforce.records import parse_sf_datetime

_FROM = re.compile(r"\bFROM (\w+)")
_IN = re.compile(r"WHERE (\w+) IN")
_SINCE = re.compile(r">= (\S+)")
_counter = itertools.count(1)
PAGE = 2000

LEAD_A = "00Q5f00000000AAAAA"
LEAD_B = "00Q5f00000000BBBBB"
REP = "0055f0000000001AAA"
REP_2 = "0055f0000000002AAA"
INTEGRATION = "0055f000000001cAAA"
T0 = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)  # a Monday, 09:00 in New York


def sf(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def new_id(prefix: str) -> str:
    return f"{prefix}5f{next(_counter):010d}AAA"


def lead(lead_id: str = LEAD_A, *, created: dt.datetime = T0, **fields: object) -> dict:
    return {
        "Id": lead_id,
        "CreatedDate": sf(created),
        "OwnerId": REP,
        "LeadSource": "Web",
        "IsConverted": False,
        "First_Response_At__c": None,
        "First_Response_User__c": None,
        "Time_to_First_Response__c": None,
        **fields,
    }


def task(
    lead_id: str = LEAD_A,
    *,
    at: dt.datetime,
    subtype: str = "Call",
    status: str = "Completed",
    owner: str = REP,
    completed: bool = True,
    **fields: object,
) -> dict:
    closed = status == "Completed"
    return {
        "Id": new_id("00T"),
        "WhoId": lead_id,
        "OwnerId": owner,
        "TaskSubtype": subtype,
        "Status": status,
        "IsClosed": closed,
        "CreatedDate": sf(at),
        "CompletedDateTime": sf(at) if closed and completed else None,
        **fields,
    }


def email(
    *,
    at: dt.datetime,
    incoming: bool = False,
    status: str = "3",
    sender: str = REP,
    address: str = "avery.nguyen@flywheel.demo",
    activity_id: str | None = None,
) -> dict:
    return {
        "Id": new_id("02s"),
        "Incoming": incoming,
        "Status": status,
        "MessageDate": sf(at),
        "CreatedDate": sf(at),
        "CreatedById": sender,
        "FromAddress": address,
        "ActivityId": activity_id,
    }


def relation(email_row: dict, lead_id: str = LEAD_A) -> dict:
    return {
        "Id": new_id("0Ee"),
        "EmailMessageId": email_row["Id"],
        "RelationId": lead_id,
        "RelationType": "ToAddress",
    }


class FakeClient:
    def __init__(self) -> None:
        self.rows: dict[str, list[dict]] = {
            "Lead": [],
            "Task": [],
            "EmailMessage": [],
            "EmailMessageRelation": [],
            "User": [],
        }
        self.calls = 0
        self.queries: list[str] = []
        self.updates: list[list[dict]] = []
        self.emails: list[dict] = []
        self.email_error: dict | None = None  # every email fails with it when set

    def add(self, sobject: str, *rows: dict) -> None:
        self.rows[sobject] += rows

    def delete(self, record_id: str) -> None:
        for rows in self.rows.values():
            rows[:] = [r for r in rows if r["Id"] != record_id]

    def get(self, sobject: str, record_id: str) -> dict:
        return next(r for r in self.rows[sobject] if r["Id"] == record_id)

    def _email(self, email_id: str) -> dict:
        return next((e for e in self.rows["EmailMessage"] if e["Id"] == email_id), {})

    def _shape(self, sobject: str, row: dict) -> dict:
        if sobject == "User":
            manager = next((u for u in self.rows["User"] if u["Id"] == row.get("ManagerId")), None)
            return {**row, "Manager": manager}
        if sobject != "EmailMessageRelation":
            return dict(row)
        return {**row, "EmailMessage": self._email(row["EmailMessageId"])}

    def query_ids(self, template: str, ids: Iterable[str], *, chunk: int = 200) -> list[dict]:
        ids = list(ids)
        self.calls += math.ceil(len(ids) / chunk)
        return self._by_ids(template, ids)

    def query_ids_many(
        self, templates: Sequence[str], ids: Sequence[str], *, chunk: int = 200
    ) -> list[list[dict]]:
        # like salesforce.client: one composite call reads a page of up to five queries
        self.calls += math.ceil(len(templates) * math.ceil(len(ids) / chunk) / 5)
        return [self._by_ids(template, list(ids)) for template in templates]

    def _by_ids(self, template: str, ids: list[str]) -> list[dict]:
        sobject, field = _FROM.search(template)[1], _IN.search(template)[1]
        wanted = {i[:15] for i in ids}
        self.queries.append(template)
        return [
            self._shape(sobject, r)
            for r in self.rows[sobject]
            if (r.get(field) or "")[:15] in wanted
        ]

    def query_all(self, soql: str) -> list[dict]:
        found = self._since_query(soql)
        self.calls += _pages(found)
        return found

    def query_all_many(self, queries: Sequence[str]) -> list[list[dict]]:
        # up to five queries a composite call: as many calls as the longest query has pages
        assert len(queries) <= 5
        found = [self._since_query(soql) for soql in queries]
        self.calls += max(_pages(rows) for rows in found)
        return found

    def _since_query(self, soql: str) -> list[dict]:
        sobject = _FROM.search(soql)[1]
        since = parse_sf_datetime(_SINCE.search(soql)[1])
        self.queries.append(soql)
        found = [
            self._shape(sobject, r) for r in self.rows[sobject] if self._since(sobject, r, since)
        ]
        return sorted(found, key=lambda r: (r.get("CreatedDate") or "", r["Id"]))

    def _since(self, sobject: str, row: dict, since: dt.datetime) -> bool:
        source = self._email(row["EmailMessageId"]) if sobject == "EmailMessageRelation" else row
        created = parse_sf_datetime(source.get("CreatedDate"))
        if created is None or created < since:
            return False
        if sobject == "Task":
            return (
                bool(row["WhoId"])
                and row["TaskSubtype"] in ("Call", "Email", "LinkedIn")
                and row["IsClosed"]
            )
        if sobject == "EmailMessage":
            return bool(row.get("ActivityId"))
        if sobject == "EmailMessageRelation":
            return source.get("Incoming") is False and source.get("Status") == "3"
        return True

    def send_email_simple(self, inputs: list[dict]) -> list[dict]:
        self.calls += math.ceil(len(inputs) / 100)
        if self.email_error is not None:
            return [{"isSuccess": False, "errors": [self.email_error]} for _ in inputs]
        self.emails += inputs
        return [{"isSuccess": True, "errors": []} for _ in inputs]

    def update_records(self, sobject: str, records: list[dict]) -> list[RecordResult]:
        # like salesforce.client: one Collections call up to 200, one composite call up to 1,000
        self.calls += 1 if len(records) <= 200 else math.ceil(len(records) / 1000)
        self.updates.append(records)
        for record in records:
            self.get(sobject, record["Id"]).update({k: v for k, v in record.items() if k != "Id"})
        return [RecordResult(id=r["Id"], success=True, errors=[]) for r in records]


def _pages(rows: list[dict]) -> int:
    return max(1, math.ceil(len(rows) / PAGE))
