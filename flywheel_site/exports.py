"""CSV that is safe to open in a spreadsheet: formula-looking text cells are neutralised."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Spreadsheets skip leading blanks and control characters before reading a formula, so " =1+1",
# "\n@SUM(A1)" or a zero-width space before "=" run too.
_FORMULA = re.compile(r"[\s\x00-\x1f\x7f\u200b-\u200f\u2060\ufeff]*[=+\-@]")


def csv_safe(value: object) -> object:
    """Prefix text that a spreadsheet would run as a formula with an apostrophe.

    Numbers stay numbers (a negative number is not a formula); only strings are changed.
    """
    if value is None:
        return ""
    if isinstance(value, str) and (value.startswith(FORMULA_PREFIXES) or _FORMULA.match(value)):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """UTF-8 CSV text with a header row; every cell passed through ``csv_safe``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([csv_safe(name) for name in header])
    for row in rows:
        writer.writerow([csv_safe(cell) for cell in row])
    return buffer.getvalue()
