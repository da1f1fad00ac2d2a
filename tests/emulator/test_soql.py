"""The SOQL engine against an in-memory org: a table of queries with expected results or errors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pytest

from sf_emulator.fieldinfo import FieldInfo
from sf_emulator.ids import IdFactory
from sf_emulator.schema import SCHEMA
from sf_emulator.soql import QueryResult, SoqlError, execute, parse, to_json_value

NOW = dt.datetime(2024, 6, 15, 12, 0, tzinfo=dt.UTC)  # a Saturday
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


class FakeOrg:
    """A DataSource over plain dicts: 21 live leads and a deleted one, 12 tasks, 3 users, 2 queues."""

    def __init__(self) -> None:
        self.ids = IdFactory(instance="7q")
        self.tables: dict[str, dict[str, dict]] = {name: {} for name in SCHEMA}
        self.users = [
            self.add("User", FirstName=first, LastName=last, IsActive=active, Username=f"{last}@x")
            for first, last, active in (
                ("Ada", "Lovelace", True),
                ("Grace", "Hopper", True),
                ("Alan", "Turing", False),
            )
        ]
        self.queues = [
            self.add("Group", Name=name, Type="Queue") for name in ("NA Inbound", "EMEA Inbound")
        ]
        self.leads = [self.add("Lead", **self.lead_fields(i)) for i in range(20)]
        self.special = self.add(
            "Lead",
            LastName="Special",
            FirstName="Ümit",
            Company="50% Off_Sale",
            NumberOfEmployees=7,
            CreatedDate=NOW - 40 * DAY,
            OwnerId=self.users[0],
            Email="special@example.com",
            Status="Open - Not Contacted",
            IsConverted=False,
        )
        self.deleted = self.add("Lead", LastName="Gone", Company="Acme", IsDeleted=True)
        self.tasks = [self.add("Task", **self.task_fields(i)) for i in range(10)]
        self.orphan_task = self.add("Task", Subject="Orphan", Status="Not Started")
        self.ghost_task = self.add("Task", Subject="Ghost", WhoId=self.deleted)

    def lead_fields(self, i: int) -> dict:
        created = NOW - i * DAY
        return {
            "LastName": f"Lead{i:02d}",
            "FirstName": None if i % 4 == 0 else f"F{i}",
            "Company": ["Acme", "Globex", "Initech", "O'Reilly"][i % 4],
            "NumberOfEmployees": None if i % 5 == 0 else i * 10,
            "Country": ["US", "DE", "FR"][i % 3],
            "CreatedDate": created,
            "OwnerId": self.queues[0] if i % 2 else self.users[0] if i % 4 == 0 else self.users[1],
            "IsConverted": i % 6 == 0,
            "Status": "Open - Not Contacted" if i < 10 else "Working - Contacted",
            "First_Response_At__c": created + 30 * dt.timedelta(minutes=1) if i % 3 == 0 else None,
            "Email": f"lead{i}@example.com",
        }

    def task_fields(self, i: int) -> dict:
        return {
            "WhoId": self.leads[i // 2],
            "Subject": "Call" if i % 2 == 0 else "Email",
            "TaskSubtype": "Call" if i % 2 == 0 else "Email",
            "Status": "Completed" if i < 6 else "Not Started",
            "OwnerId": self.users[1],
            "CompletedDateTime": NOW - i * HOUR if i < 6 else None,
        }

    def add(self, sobject: str, **fields: object) -> str:
        record_id = self.ids.new_id(sobject)
        created = fields.pop("CreatedDate", NOW - 100 * DAY)
        row = {name: None for name in SCHEMA[sobject]}
        row |= {
            "Id": record_id,
            "IsDeleted": False,
            "CreatedDate": created,
            "CreatedById": self.users[0] if sobject != "User" else None,
            "LastModifiedDate": created,
            "SystemModstamp": created,
        }
        row |= fields
        if "Name" in row and sobject in ("Lead", "User"):
            row["Name"] = " ".join(p for p in (row["FirstName"], row["LastName"]) if p)
        self.tables[sobject][record_id] = row
        return record_id

    # DataSource
    def describe(self, sobject: str) -> dict[str, FieldInfo] | None:
        for name, fields in SCHEMA.items():
            if name.lower() == sobject.lower() and name in ("Lead", "Task", "User", "Group"):
                return fields
        return None

    def rows(self, sobject: str, *, include_deleted: bool = False) -> Iterable[dict]:
        table = self.tables[next(n for n in SCHEMA if n.lower() == sobject.lower())]
        return [r for r in table.values() if include_deleted or not r["IsDeleted"]]

    def get(self, record_id: str) -> dict | None:
        for table in self.tables.values():
            row = table.get(record_id)
            if row is not None and not row["IsDeleted"]:
                return row
        return None


class IndexedOrg(FakeOrg):
    """The same org with the optional ``rows_by`` index, recording the lookups it answers."""

    def __init__(self) -> None:
        super().__init__()
        self.lookups: list[tuple[str, str, int]] = []

    def rows_by(self, sobject: str, field: str, values: Iterable[object]) -> list[dict]:
        wanted = set(values)
        self.lookups.append((sobject, field, len(wanted)))
        return [r for r in self.rows(sobject) if r[field] in wanted]


ORG = FakeOrg()


def run(soql: str, org: FakeOrg = ORG, **options: object) -> QueryResult:
    return execute(soql.format(org=org), org, now=NOW, **options)  # type: ignore[arg-type]


COUNTS = [
    ("SELECT COUNT() FROM Lead", 21),
    ("SELECT COUNT() FROM Lead WHERE Company = 'Acme'", 5),
    ("SELECT COUNT() FROM Lead WHERE Company = 'acme'", 5),
    ("SELECT COUNT() FROM Lead WHERE Company != 'Acme'", 16),
    ("SELECT COUNT() FROM Lead WHERE Company <> 'Acme'", 16),
    ("SELECT COUNT() FROM Lead WHERE Company = 'O\\'Reilly'", 5),
    ("SELECT COUNT() FROM Lead WHERE Company IN ('Acme', 'Globex')", 10),
    ("SELECT COUNT() FROM Lead WHERE Company NOT IN ('Acme', 'Globex')", 11),
    ("SELECT COUNT() FROM Lead WHERE NumberOfEmployees = null", 4),
    ("SELECT COUNT() FROM Lead WHERE NumberOfEmployees != NULL", 17),
    ("SELECT COUNT() FROM Lead WHERE NumberOfEmployees > 100", 8),
    ("SELECT COUNT() FROM Lead WHERE NumberOfEmployees >= 90", 9),
    ("SELECT COUNT() FROM Lead WHERE NumberOfEmployees < 50", 5),
    ("SELECT COUNT() FROM Lead WHERE NumberOfEmployees <= 60", 6),
    ("SELECT COUNT() FROM Lead WHERE NumberOfEmployees = 70.0", 1),
    ("SELECT COUNT() FROM Lead WHERE NOT NumberOfEmployees > 100", 13),
    ("SELECT COUNT() FROM Lead WHERE IsConverted = TRUE", 4),
    ("SELECT COUNT() FROM Lead WHERE IsConverted = false", 17),
    ("SELECT COUNT() FROM Lead WHERE FirstName = null", 5),
    ("SELECT COUNT() FROM Lead WHERE Company LIKE 'A%'", 5),
    ("SELECT COUNT() FROM Lead WHERE Company LIKE '%ch'", 5),
    ("SELECT COUNT() FROM Lead WHERE Company LIKE '_lobex'", 5),
    ("SELECT COUNT() FROM Lead WHERE Company LIKE '50\\% Off\\_Sale'", 1),
    ("SELECT COUNT() FROM Lead WHERE Company LIKE '%\\_%'", 1),
    ("SELECT COUNT() FROM Lead WHERE Email LIKE 'LEAD1%'", 11),
    ("SELECT COUNT() FROM Lead WHERE Name LIKE '%lead0%'", 10),
    ("SELECT COUNT() FROM Lead WHERE Name = 'F1 Lead01'", 1),
    ("SELECT COUNT() FROM Lead WHERE CreatedDate > 2024-06-10T12:00:00Z", 5),
    ("SELECT COUNT() FROM Lead WHERE CreatedDate >= 2024-06-10T12:00:00Z", 6),
    ("SELECT COUNT() FROM Lead WHERE CreatedDate >= 2024-06-10T14:00:00+02:00", 6),
    ("SELECT COUNT() FROM Lead WHERE CreatedDate >= 2024-06-10T07:00:00-0500", 6),
    ("SELECT COUNT() FROM Lead WHERE CreatedDate < 2024-06-10T12:00:00.000Z", 15),
    ("SELECT COUNT() FROM Lead WHERE CreatedDate = TODAY", 1),
    ("SELECT COUNT() FROM Lead WHERE CreatedDate = YESTERDAY", 1),
    ("SELECT COUNT() FROM Lead WHERE CreatedDate = LAST_N_DAYS:3", 4),
    ("SELECT COUNT() FROM Lead WHERE CreatedDate < LAST_N_DAYS:10", 10),
    ("SELECT COUNT() FROM Lead WHERE CreatedDate = NEXT_N_DAYS:3", 0),
    ("SELECT COUNT() FROM Lead WHERE CreatedDate > LAST_N_HOURS:36", 0),
    ("SELECT COUNT() FROM Lead WHERE CreatedDate = LAST_N_HOURS:36", 2),
    ("SELECT COUNT() FROM Lead WHERE CreatedDate = THIS_WEEK", 7),
    ("SELECT COUNT() FROM Lead WHERE CreatedDate = LAST_WEEK", 7),
    ("SELECT COUNT() FROM Lead WHERE CreatedDate = THIS_MONTH", 15),
    ("SELECT COUNT() FROM Lead WHERE CreatedDate = LAST_MONTH", 6),
    ("SELECT COUNT() FROM Lead WHERE First_Response_At__c != null", 7),
    ("SELECT COUNT() FROM Lead WHERE Country = null", 1),
    ("SELECT COUNT() FROM Lead WHERE Status = 'Working - Contacted' AND Country = 'US'", 3),
    (
        "SELECT COUNT() FROM Lead WHERE (Company = 'Acme' OR Company = 'Globex') "
        "AND NumberOfEmployees > 100",
        4,
    ),
    (
        "SELECT COUNT() FROM Lead WHERE Company = 'Acme' OR (Company = 'Globex' AND Country = 'DE')",
        7,
    ),
    ("SELECT COUNT() FROM Lead WHERE NOT (Company = 'Acme' OR Company = 'Globex')", 11),
    ("SELECT COUNT() FROM Lead WHERE Owner.Name = 'NA Inbound'", 10),
    ("SELECT COUNT() FROM Lead WHERE Owner.Type = 'Queue'", 10),
    ("SELECT COUNT() FROM Lead WHERE Owner.IsActive = true", 11),
    ("SELECT COUNT() FROM Lead WHERE CreatedBy.Name = 'Ada Lovelace'", 21),
    ("SELECT COUNT() FROM Lead WHERE Id IN (SELECT WhoId FROM Task)", 5),
    (
        "SELECT COUNT() FROM Lead WHERE Id IN (SELECT WhoId FROM Task WHERE Status = 'Completed')",
        3,
    ),
    ("SELECT COUNT() FROM Lead WHERE Id NOT IN (SELECT WhoId FROM Task)", 16),
    ("SELECT COUNT() FROM Lead WHERE OwnerId = '{org.users[0]:.15}'", 6),
    ("SELECT COUNT() FROM Lead WHERE Id = '{org.deleted}'", 0),
    ("SELECT COUNT() FROM Lead WHERE Id IN ('{org.leads[0]}', '{org.leads[1]}')", 2),
    ("SELECT COUNT() FROM Lead LIMIT 3", 3),
    ("SELECT COUNT() FROM Lead ALL ROWS", 22),
    ("select count() from LEAD where company = 'Acme'", 5),
    ("SELECT COUNT() FROM Task", 12),
    ("SELECT COUNT() FROM Task WHERE WhoId = null", 1),
    ("SELECT COUNT() FROM Task WHERE WhoId != null", 11),
    ("SELECT COUNT() FROM Task WHERE Who.Company = 'Acme'", 4),
    ("SELECT COUNT() FROM Task WHERE CompletedDateTime = LAST_N_HOURS:3", 4),
    ("SELECT COUNT() FROM Task WHERE TaskSubtype IN ('Call', 'Email') AND Status = 'Completed'", 6),
    ("SELECT COUNT() FROM User WHERE IsActive = true", 2),
    ("SELECT COUNT() FROM Group WHERE Type = 'Queue'", 2),
]


@pytest.mark.parametrize(("soql", "expected"), COUNTS)
def test_query_counts_the_matching_records(soql: str, expected: int) -> None:
    result = run(soql)

    assert result.total_size == expected
    assert result.records == []


@pytest.mark.parametrize(("soql", "expected"), COUNTS[1:])
def test_index_answers_the_same_as_a_scan(soql: str, expected: int) -> None:
    result = run(soql, IndexedOrg())

    assert result.total_size == expected


ORDERED = [
    (
        "SELECT LastName FROM Lead ORDER BY NumberOfEmployees DESC LIMIT 3",
        ["Lead19", "Lead18", "Lead17"],
    ),
    (
        "SELECT LastName FROM Lead ORDER BY NumberOfEmployees LIMIT 3",
        ["Lead00", "Lead05", "Lead10"],
    ),
    (
        "SELECT LastName FROM Lead ORDER BY NumberOfEmployees ASC NULLS LAST LIMIT 3",
        ["Special", "Lead01", "Lead02"],
    ),
    (
        "SELECT LastName FROM Lead ORDER BY NumberOfEmployees DESC NULLS FIRST LIMIT 2",
        ["Lead00", "Lead05"],
    ),
    (
        "SELECT LastName FROM Lead ORDER BY Company DESC, LastName ASC LIMIT 3",
        ["Lead03", "Lead07", "Lead11"],
    ),
    ("SELECT LastName FROM Lead ORDER BY Country, LastName DESC LIMIT 2", ["Special", "Lead19"]),
    ("SELECT LastName FROM Lead ORDER BY Owner.Name, LastName LIMIT 2", ["Lead00", "Lead04"]),
    ("SELECT LastName FROM Lead ORDER BY CreatedDate LIMIT 2", ["Special", "Lead19"]),
    ("SELECT lastname FROM lead ORDER BY lastname LIMIT 2 OFFSET 2", ["Lead02", "Lead03"]),
    (
        "SELECT LastName FROM Lead WHERE Company = 'Initech' ORDER BY LastName DESC",
        ["Lead18", "Lead14", "Lead10", "Lead06", "Lead02"],
    ),
]


@pytest.mark.parametrize(("soql", "expected"), ORDERED)
def test_order_by_limit_and_offset(soql: str, expected: list[str]) -> None:
    result = run(soql)

    assert [record["LastName"] for record in result.records] == expected
    assert result.total_size == len(expected)


ERRORS = [
    ("SELECT Id FROM", "MALFORMED_QUERY"),
    ("SELEKT Id FROM Lead", "MALFORMED_QUERY"),
    ("   ", "MALFORMED_QUERY"),
    ("SELECT FROM Lead", "MALFORMED_QUERY"),
    ("SELECT Id, FROM Lead", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead WHERE Company = 'Acme", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead WHERE Company = 'a\\qb'", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead WHERE Company = Acme", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead WHERE Id = :leadId", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead GROUP BY Company", "MALFORMED_QUERY"),
    ("SELECT Id, (SELECT Id FROM Tasks) FROM Lead", "MALFORMED_QUERY"),
    ("SELECT TYPEOF Owner WHEN User THEN Name END FROM Lead", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead WITH SECURITY_ENFORCED", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead FOR UPDATE", "MALFORMED_QUERY"),
    ("SELECT toLabel(Status) FROM Lead", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead WHERE CALENDAR_YEAR(CreatedDate) = 2024", "MALFORMED_QUERY"),
    (
        "SELECT Id FROM Lead WHERE Company = 'A' OR Company = 'B' AND Country = 'US'",
        "MALFORMED_QUERY",
    ),
    ("SELECT Id FROM Lead LIMIT -1", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead LIMIT 'x'", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE"),
    ("SELECT Id, id FROM Lead", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead WHERE CreatedDate > LAST_N_DAYS", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead WHERE CreatedDate > 2024-13-01T00:00:00Z", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead WHERE CreatedDate > 2024-01-01T00:00:00", "MALFORMED_QUERY"),
    ("SELECT COUNT(), Id FROM Lead", "MALFORMED_QUERY"),
    ("SELECT Company, COUNT(Id) FROM Lead", "MALFORMED_QUERY"),
    ("SELECT Name myAlias FROM Lead", "MALFORMED_QUERY"),
    (
        "SELECT Id FROM Lead WHERE Id IN (SELECT WhoId FROM Task WHERE WhoId IN "
        "(SELECT Id FROM Lead))",
        "MALFORMED_QUERY",
    ),
    ("SELECT Id FROM Lead WHERE CreatedDate > 0001-01-01T00:00:00+01:00", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead WHERE CreatedDate > LAST_N_DAYS:99999999999", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead WHERE " + "(" * 300 + "Company = 'x'" + ")" * 300, "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead WHERE " + "NOT " * 300 + "Company = 'x'", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead WHERE Company IN ()", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead WHERE Company LIKE 5", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead ORDER BY LastName NULLS", "MALFORMED_QUERY"),
    ("SELECT Nope__c FROM Lead", "INVALID_FIELD"),
    ("SELECT Owner.Nope FROM Lead", "INVALID_FIELD"),
    ("SELECT Boss.Name FROM Lead", "INVALID_FIELD"),
    ("SELECT Owner FROM Lead", "INVALID_FIELD"),
    ("SELECT Id FROM Lead ORDER BY Nope", "INVALID_FIELD"),
    ("SELECT Id FROM Lead WHERE Description = 'x'", "INVALID_FIELD"),
    ("SELECT Id FROM Lead WHERE Company IN (SELECT WhoId FROM Task)", "INVALID_FIELD"),
    ("SELECT Id FROM Account", "INVALID_TYPE"),
    ("SELECT Id FROM Lead WHERE Id IN (SELECT Id FROM Account)", "INVALID_TYPE"),
    ("SELECT Id FROM Lead WHERE NumberOfEmployees = '5'", "INVALID_QUERY_FILTER_OPERATOR"),
    ("SELECT Id FROM Lead WHERE Company = 5", "INVALID_QUERY_FILTER_OPERATOR"),
    ("SELECT Id FROM Lead WHERE IsConverted = 'true'", "INVALID_QUERY_FILTER_OPERATOR"),
    (
        "SELECT Id FROM Lead WHERE CreatedDate > '2024-01-01T00:00:00Z'",
        "INVALID_QUERY_FILTER_OPERATOR",
    ),
    ("SELECT Id FROM Lead WHERE CreatedDate > 2024-01-01", "INVALID_QUERY_FILTER_OPERATOR"),
    ("SELECT Id FROM Lead WHERE Id = 'not-an-id'", "INVALID_QUERY_FILTER_OPERATOR"),
    ("SELECT Id FROM Lead WHERE NumberOfEmployees LIKE '5%'", "INVALID_QUERY_FILTER_OPERATOR"),
]


@pytest.mark.parametrize(("soql", "code"), ERRORS)
def test_refused_queries_raise_salesforce_error_codes(soql: str, code: str) -> None:
    with pytest.raises(SoqlError) as caught:
        run(soql)

    assert caught.value.error_code == code
    assert caught.value.message


def test_errors_name_the_problem_like_salesforce() -> None:
    with pytest.raises(SoqlError) as field:
        run("SELECT Id, Nope__c FROM Lead")
    with pytest.raises(SoqlError) as sobject:
        run("SELECT Id FROM Account")
    with pytest.raises(SoqlError) as clause:
        run("SELECT Id FROM Lead GROUP BY Company")

    assert "No such column 'Nope__c' on entity 'Lead'" in field.value.message
    assert "ERROR at Row:1:Column:12" in field.value.message
    assert "sObject type 'Account' is not supported." in sobject.value.message
    assert "GROUP BY" in clause.value.message


def test_records_are_shaped_like_rest_with_parent_relationships() -> None:
    lead_id = ORG.leads[1]

    result = run(
        f"SELECT Id, owner.name, CreatedBy.Name, LastName FROM Lead WHERE Id = '{lead_id}'"
    )

    assert result.sobject == "Lead"
    assert result.records == [
        {
            "attributes": {"type": "Lead", "url": f"/services/data/v59.0/sobjects/Lead/{lead_id}"},
            "Id": lead_id,
            "Owner": {
                "attributes": {
                    "type": "Name",
                    "url": f"/services/data/v59.0/sobjects/Group/{ORG.queues[0]}",
                },
                "Name": "NA Inbound",
            },
            "CreatedBy": {
                "attributes": {
                    "type": "User",
                    "url": f"/services/data/v59.0/sobjects/User/{ORG.users[0]}",
                },
                "Name": "Ada Lovelace",
            },
            "LastName": "Lead01",
        }
    ]


def test_empty_or_dangling_parent_is_null_and_api_version_shapes_the_url() -> None:
    result = run(
        "SELECT Subject, Who.Name, Who.Company FROM Task WHERE Subject IN ('Orphan', 'Ghost') "
        "ORDER BY Subject",
        api_version="62.0",
    )

    assert [(r["Subject"], r["Who"]) for r in result.records] == [("Ghost", None), ("Orphan", None)]
    assert result.records[0]["attributes"]["url"].startswith("/services/data/v62.0/sobjects/Task/")


def test_user_owner_fields_come_from_the_user_record() -> None:
    result = run("SELECT Owner.Name, Owner.Email, Owner.Type FROM Lead WHERE Id = '{org.leads[2]}'")

    owner = result.records[0]["Owner"]
    assert owner["Name"] == "Grace Hopper" and owner["Type"] == "User"
    assert owner["attributes"]["url"].endswith(ORG.users[1])


def test_values_are_python_values_and_to_json_value_formats_them_like_salesforce() -> None:
    result = run(
        "SELECT CreatedDate, IsConverted, NumberOfEmployees FROM Lead WHERE Id = '{org.leads[1]}'"
    )
    record = result.records[0]

    assert record["CreatedDate"] == NOW - DAY
    assert to_json_value(record)["CreatedDate"] == "2024-06-14T12:00:00.000+0000"
    assert to_json_value(dt.date(2024, 1, 2)) == "2024-01-02"
    assert (
        to_json_value(
            dt.datetime(2024, 1, 1, 13, 30, 5, 123456, tzinfo=dt.timezone(dt.timedelta(hours=1)))
        )
        == "2024-01-01T12:30:05.123+0000"
    )
    assert record["IsConverted"] is False and record["NumberOfEmployees"] == 10


def test_query_all_includes_deleted_records() -> None:
    live = run("SELECT Id, IsDeleted FROM Lead WHERE Company = 'Acme'")
    everything = run("SELECT Id, IsDeleted FROM Lead WHERE Company = 'Acme'", include_deleted=True)

    assert live.total_size == 5
    assert everything.total_size == 6
    assert [r["Id"] for r in everything.records if r["IsDeleted"]] == [ORG.deleted]


def test_aggregates_without_group_by_return_one_aggregate_result() -> None:
    result = run(
        "SELECT COUNT(Id), COUNT(NumberOfEmployees), MAX(NumberOfEmployees) biggest, "
        "MIN(CreatedDate), COUNT_DISTINCT(Company) FROM Lead"
    )

    assert result.total_size == 1
    assert result.records == [
        {
            "attributes": {"type": "AggregateResult"},
            "expr0": 21,
            "expr1": 17,
            "biggest": 190,
            "expr2": NOW - 40 * DAY,
            "expr3": 5,
        }
    ]


def test_count_respects_limit_and_offset_like_salesforce() -> None:
    limited = run("SELECT COUNT() FROM Lead WHERE Company = 'Acme' LIMIT 2")
    paged = run("SELECT Id FROM Lead ORDER BY LastName LIMIT 5 OFFSET 19")

    assert limited.total_size == 2
    assert paged.total_size == 2


def test_parse_accepts_a_query_object_and_reuses_it() -> None:
    query = parse("SELECT Id FROM Lead WHERE Company = 'Globex' ORDER BY LastName")

    first = execute(query, ORG, now=NOW)
    second = execute(query, ORG, now=NOW)

    assert [r["Id"] for r in first.records] == [r["Id"] for r in second.records]
    assert first.total_size == 5


def test_index_is_used_for_top_level_id_and_reference_filters() -> None:
    org = IndexedOrg()
    who_ids = ", ".join(f"'{lead}'" for lead in org.leads[:3])

    tasks = run(
        f"SELECT Id, WhoId FROM Task WHERE WhoId IN ({who_ids}) AND Status = 'Completed'", org
    )
    semi = run("SELECT Id FROM Lead WHERE Id IN (SELECT WhoId FROM Task) AND Country = 'US'", org)
    scan = run("SELECT Id FROM Lead WHERE OwnerId = '{org.queues[0]}' OR Company = 'Acme'", org)

    assert tasks.total_size == 6
    assert semi.total_size == 2
    assert scan.total_size == 15
    assert org.lookups == [("Task", "WhoId", 3), ("Lead", "Id", 6)]  # 5 leads + the deleted one


def test_relative_dates_follow_the_clock_passed_in() -> None:
    later = NOW + 10 * DAY

    today = execute("SELECT COUNT() FROM Lead WHERE CreatedDate = LAST_N_DAYS:10", ORG, now=later)
    ago = execute("SELECT COUNT() FROM Lead WHERE CreatedDate = N_DAYS_AGO:10", ORG, now=later)

    assert today.total_size == 1
    assert ago.total_size == 1


def test_string_escapes_reach_the_value() -> None:
    query = parse("SELECT Id FROM Lead WHERE Description != 'a\\'b\\\"c\\\\d\\ne\\tf'")

    assert query.where.value.value == "a'b\"c\\d\ne\tf"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("literal", "start", "end"),
    [
        ("THIS_QUARTER", dt.date(2024, 4, 1), dt.date(2024, 7, 1)),
        ("LAST_FISCAL_QUARTER", dt.date(2024, 1, 1), dt.date(2024, 4, 1)),
        ("NEXT_YEAR", dt.date(2025, 1, 1), dt.date(2026, 1, 1)),
        ("LAST_N_MONTHS:2", dt.date(2024, 4, 1), dt.date(2024, 6, 1)),
        ("NEXT_N_WEEKS:1", dt.date(2024, 6, 16), dt.date(2024, 6, 23)),
        ("N_MONTHS_AGO:12", dt.date(2023, 6, 1), dt.date(2023, 7, 1)),
        ("LAST_90_DAYS", dt.date(2024, 3, 17), dt.date(2024, 6, 16)),
    ],
)
def test_calendar_date_literals_cover_their_span(
    literal: str, start: dt.date, end: dt.date
) -> None:
    def created_on(day: dt.date) -> int:
        org = FakeOrg()
        moment = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        org.tables["Lead"][org.leads[0]]["CreatedDate"] = moment
        soql = f"SELECT COUNT() FROM Lead WHERE Id = '{org.leads[0]}' AND CreatedDate = {literal}"
        return execute(soql, org, now=NOW).total_size

    assert created_on(start) == 1
    assert created_on(end - DAY) == 1
    assert created_on(start - DAY) == 0
    assert created_on(end) == 0


def test_object_alias_and_object_name_prefixes_are_accepted() -> None:
    aliased = run("SELECT l.LastName, l.Owner.Name FROM Lead l WHERE l.Company = 'Globex' LIMIT 1")
    prefixed = run("SELECT Lead.LastName FROM Lead WHERE Lead.Company = 'Globex' LIMIT 1")

    assert aliased.records[0]["LastName"] == "Lead01"
    assert aliased.records[0]["Owner"]["Name"] == "NA Inbound"
    assert prefixed.records[0]["LastName"] == "Lead01"


def test_parent_paths_filter_through_two_lookups() -> None:
    result = run("SELECT Subject, Who.Owner.Name FROM Task WHERE Who.Owner.Name = 'NA Inbound'")

    assert {r["Who"]["Owner"]["Name"] for r in result.records} == {"NA Inbound"}
    assert result.total_size == 4  # leads 1 and 3 are owned by the queue, two tasks each
