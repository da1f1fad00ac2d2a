"""Reading NumberOfEmployees, which arrives as an int (CDC) or any text (CSV, imports)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# The largest employers have about 2-3 million staff; above this the figure is a typo.
MAX_PLAUSIBLE_EMPLOYEES = 5_000_000
_GROUPED = re.compile(r"^\d{1,3}(?:[,\u00a0 ]\d{3})+$")
_PLAIN = re.compile(r"^\d+$")


@dataclass(frozen=True, slots=True)
class EmployeeCount:
    value: int | None
    problem: str = ""
    exact: bool = True


def parse_employees(raw: object) -> EmployeeCount:
    """An employee count, or the reason there is none ('missing', 'non-numeric "about 500"')."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return EmployeeCount(None, "employee count missing")
    if isinstance(raw, bool):
        return EmployeeCount(None, f"non-numeric employee count {raw!r}")
    if isinstance(raw, int):
        return _checked(raw, exact=True)
    if isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")) or not raw.is_integer():
            return EmployeeCount(None, f"non-integer employee count {raw!r}")
        return _checked(int(raw), exact=True)
    text = str(raw).strip()
    if _PLAIN.match(text):
        return _checked(int(text), exact=True)
    if _GROUPED.match(text):
        return _checked(int(re.sub(r"\D", "", text)), exact=False)
    if text.startswith("-") and _PLAIN.match(text[1:].replace(",", "")):
        return EmployeeCount(None, f"negative employee count {text!r}")
    return EmployeeCount(None, f"non-numeric employee count {text[:40]!r}")


def _checked(value: int, *, exact: bool) -> EmployeeCount:
    if value < 0:
        return EmployeeCount(None, f"negative employee count {value}")
    if value > MAX_PLAUSIBLE_EMPLOYEES:
        return EmployeeCount(None, f"implausible employee count {value:,}")
    return EmployeeCount(value, "", exact)
