"""Values put into SOQL cannot change the query: quotes, backslashes and newlines are escaped."""

import datetime as dt
from decimal import Decimal
from urllib.parse import quote_plus

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesforce.soql import in_queries, soql_in, soql_quote

UNESCAPE = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}


def read_literal(text: str) -> tuple[str, str]:
    """Read one SOQL string literal from the start of ``text`` as Salesforce's lexer would:
    return its value and whatever follows the closing quote."""
    assert text[0] == "'"
    value, index = [], 1
    while text[index] != "'":
        if text[index] == "\\":
            value.append(UNESCAPE[text[index + 1]])
            index += 2
        else:
            assert text[index] not in "\n\r", "a raw line break inside a literal"
            value.append(text[index])
            index += 1
    return "".join(value), text[index + 1 :]


@given(st.text())
def test_any_string_reads_back_as_itself_and_ends_the_literal(value):
    literal = soql_quote(value)

    assert read_literal(literal) == (value, "")


def read_list(text: str) -> list[str]:
    """The values of a comma-separated list of SOQL string literals."""
    read = []
    while text:
        value, text = read_literal(text)
        read.append(value)
        text = text.removeprefix(", ")
    return read


@given(st.lists(st.text(), min_size=1, max_size=5))
def test_an_in_list_holds_exactly_the_values(values):
    text = soql_in(values)

    assert text.startswith("(") and text.endswith(")")
    assert read_list(text[1:-1]) == values


def test_injection_attempt_stays_inside_the_literal():
    literal = soql_quote("x' OR Name != 'y")

    assert literal == "'x\\' OR Name != \\'y'"


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (Decimal("1.50"), "1.50"),
        (2.5, "2.5"),
        (dt.date(2026, 1, 31), "2026-01-31"),
        (
            dt.datetime(2026, 1, 31, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "2026-01-31T07:30:00Z",
        ),
        ("back\\slash", "'back\\\\slash'"),
        ("line\nbreak", "'line\\nbreak'"),
    ],
)
def test_values_become_soql_literals(value, literal):
    assert soql_quote(value) == literal


@pytest.mark.parametrize("value", [dt.datetime(2026, 1, 1), float("nan"), object()])
def test_values_without_a_safe_literal_are_refused(value):
    with pytest.raises((ValueError, TypeError)):
        soql_quote(value)


def test_an_empty_in_list_is_refused():
    with pytest.raises(ValueError):
        soql_in([])


def test_ids_are_split_into_chunks_of_at_most_the_chunk_size_without_duplicates():
    ids = [f"00Q{n:015d}" for n in range(450)]

    queries = list(in_queries("SELECT Id FROM Lead WHERE Id IN ({ids})", ids + ids[:10], chunk=200))

    assert len(queries) == 3
    assert [q.count("'00Q") for q in queries] == [200, 200, 50]


@given(st.lists(st.text(min_size=1, max_size=300), min_size=1, max_size=200))
def test_every_chunk_stays_under_the_url_limit_and_every_value_is_queried(values):
    prefix, suffix = "SELECT Id FROM Lead WHERE Email IN (", ")"

    queries = list(in_queries(prefix + "{ids}" + suffix, values, chunk=200, max_url_chars=4000))

    assert all(len(quote_plus(query)) <= 4000 for query in queries)
    queried = [v for q in queries for v in read_list(q.removeprefix(prefix).removesuffix(suffix))]
    assert queried == list(dict.fromkeys(values))


def test_a_template_without_the_placeholder_is_refused():
    with pytest.raises(ValueError):
        list(in_queries("SELECT Id FROM Lead", ["00Q"]))
