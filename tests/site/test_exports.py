"""CSV exports neutralise spreadsheet formulas in text cells."""

import csv
import io

import pytest

from flywheel_site.exports import csv_safe, csv_text


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        (" =1+1", "' =1+1"),
        ("\t=1", "'\t=1"),
        ("\n@SUM(A1)", "'\n@SUM(A1)"),
        ("\x00 -2+3", "'\x00 -2+3"),
        ("\u200b=HYPERLINK(1)", "'\u200b=HYPERLINK(1)"),
        ("\u00a0+1", "'\u00a0+1"),
        ("  Acme = best", "  Acme = best"),
        ("a-b", "a-b"),
        ("Acme", "Acme"),
        (-5, -5),
        (3.5, 3.5),
        (None, ""),
    ],
)
def test_csv_safe_neutralises_formula_text_only(cell, expected):
    assert csv_safe(cell) == expected


def test_csv_text_has_a_header_and_round_trips_unicode():
    text = csv_text(["company", "minutes"], [["Zoë & Co =x", 12.5], ["=cmd|' /C calc'!A0", -1]])

    rows = list(csv.reader(io.StringIO(text)))

    assert rows[0] == ["company", "minutes"]
    assert rows[1] == ["Zoë & Co =x", "12.5"]
    assert rows[2][0].startswith("'=")
    assert rows[2][1] == "-1"
