"""Hypothesis strategies for hostile input: JSON garbage, huge and odd strings, lead fields."""

from __future__ import annotations

from hypothesis import strategies as st

LEAD_FIELD_NAMES = (
    "FirstName",
    "LastName",
    "Company",
    "Title",
    "Email",
    "Country",
    "CountryCode",
    "State",
    "Industry",
    "LeadSource",
    "Description",
    "NumberOfEmployees",
    "OwnerId",
    "CreatedDate",
    "IsConverted",
    "HasOptedOutOfEmail",
    "Status",
)
NASTY_TEXT = (
    "",
    " ",
    "\x00",
    "O'Brien \\' OR Name != '",
    "\\",
    "line\nbreak\r\n\t",
    "<script>alert(1)</script>",
    "=cmd|' /C calc'!A0",
    "{{ settings.SECRET_KEY }}",
    "{% debug %}",
    "{# c #}",
    "%s %d %(x)s {0}",
    "Ünïcödé ☃ \U0001d518 مرحبا 漢字",
    "\u202e\u200b\ufeff",
    "NaN",
    "-1",
    "1e309",
    "00Q000000000000AAA",
)


def huge_text() -> st.SearchStrategy[str]:
    return st.integers(min_value=5_000, max_value=40_000).map(lambda n: "x" * n)


def text() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(NASTY_TEXT), st.text(max_size=60), huge_text())


def scalars() -> st.SearchStrategy[object]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        text(),
    )


def json_values(max_leaves: int = 12) -> st.SearchStrategy[object]:
    """Any JSON value, nested a few levels (what a hostile CometD message may carry)."""
    return st.recursive(
        scalars(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
        ),
        max_leaves=max_leaves,
    )


def lead_fields() -> st.SearchStrategy[dict[str, object]]:
    """A lead whose every field may be garbage, huge, unicode, None or a nested value."""
    return st.dictionaries(st.sampled_from(LEAD_FIELD_NAMES), json_values(4), max_size=12)
