"""Real-world SOQL (data/soql_corpus.json) and random text: a result or a SoqlError, never a crash."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sf_emulator.fieldinfo import FieldInfo
from sf_emulator.soql import SoqlError, execute, parse

CORPUS_FILE = Path("/work/shared/data/soql_corpus.json")
CORPUS = json.loads(CORPUS_FILE.read_text())["queries"]
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FROM = re.compile(r"\bFROM\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)


def _guess(name: str) -> FieldInfo:
    lower = name.lower()
    if lower == "id":
        return FieldInfo(name=name, type="id")
    if lower.endswith("id") and len(name) > 2:
        target = name[:-2]
        return FieldInfo(name, "reference", reference_to=(target,), relationship_name=target)
    if lower.startswith(("is", "has")):
        return FieldInfo(name=name, type="boolean")
    if lower.endswith("date") or lower.endswith("stamp"):
        return FieldInfo(name=name, type="datetime")
    if lower in ("amount", "annualrevenue", "numberofemployees", "quantity", "listprice"):
        return FieldInfo(name=name, type="double")
    return FieldInfo(name=name, type="string")


class LooseOrg:
    """Every object the corpus selects FROM exists with every word of the corpus as a field."""

    def __init__(self, texts: Iterable[str]) -> None:
        texts = list(texts)
        self.objects = {m.lower() for t in texts for m in _FROM.findall(t)} - {"unknownobject"}
        words = {w for t in texts for w in _WORD.findall(t)}
        self.fields = {w: _guess(w) for w in sorted(words)}
        for sobject in sorted(self.objects):
            relation = sobject.capitalize()
            self.fields[f"{relation}Id"] = _guess(f"{relation}Id")

    def describe(self, sobject: str) -> dict[str, FieldInfo] | None:
        return self.fields if sobject.lower() in self.objects or sobject == "User" else None

    def rows(self, sobject: str, *, include_deleted: bool = False) -> Iterable[dict]:
        return [{"Id": "001000000000001AAA", "Name": "Acme", "Amount": 5.0, "IsDeleted": False}]

    def get(self, record_id: str) -> dict | None:
        return None


ORG = LooseOrg(q["soql"] for q in CORPUS)


@pytest.mark.parametrize("entry", CORPUS, ids=lambda e: e["soql"][:60])
def test_corpus_query_runs_or_is_refused_with_a_salesforce_error(entry: dict) -> None:
    try:
        result = execute(entry["soql"], ORG)
    except SoqlError as error:
        assert error.error_code.isupper() and error.message
    else:
        assert entry["valid_syntax"], "a malformed query was accepted"
        assert result.total_size >= len(result.records)


def test_every_malformed_corpus_query_is_refused_by_the_parser_or_the_schema() -> None:
    malformed = [entry["soql"] for entry in CORPUS if not entry["valid_syntax"]]
    accepted = []
    for soql in malformed:
        try:
            execute(soql, ORG)
        except SoqlError:
            continue
        accepted.append(soql)

    assert len(malformed) >= 40
    assert accepted == []


def test_most_valid_corpus_queries_in_the_supported_subset_execute() -> None:
    supported = [
        "SELECT Id FROM Account WHERE Name = 'Acme'",
        "SELECT Id, Name FROM Account WHERE Id IN (SELECT AccountId FROM Contact)",
    ]

    results = [execute(soql, ORG) for soql in supported]

    assert [r.sobject for r in results] == ["Account", "Account"]


SOQL_WORDS = st.sampled_from(
    [
        "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "LIMIT",
        "OFFSET", "ASC", "DESC", "NULLS", "FIRST", "LAST", "null", "true", "COUNT()", "Id",
        "Name", "Account", "Owner.Name", "(", ")", ",", "=", "!=", "<", ">=", "'x'", "'a\\'b'",
        "5", "-1.5", "2024-01-01", "2024-01-01T00:00:00Z", "LAST_N_DAYS:3", "TODAY", ":v",
        "GROUP", "Amount", "IsDeleted", "CreatedDate", "AccountId", "'", "\\", ".",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_parse_of_random_text_raises_only_soql_error(text: str) -> None:
    try:
        parse(text)
    except SoqlError as error:
        assert error.error_code == "MALFORMED_QUERY"


@settings(max_examples=400, deadline=None)
@given(st.lists(SOQL_WORDS, max_size=25))
def test_random_token_soup_executes_or_raises_soql_error(words: list[str]) -> None:
    text = " ".join(words)
    try:
        execute(text, ORG)
    except SoqlError as error:
        assert error.message
