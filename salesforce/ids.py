"""Salesforce record id checks for the app (the emulator has its own copy: it imports no app code)."""

from __future__ import annotations

import re

_ID_RE = re.compile(r"^[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?$")
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

USER_PREFIX = "005"
QUEUE_PREFIX = "00G"
LEAD_PREFIX = "00Q"


def _suffix(id15: str) -> str:
    out = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, char in enumerate(id15[start : start + 5]) if char.isupper())
        out += _SUFFIX_ALPHABET[bits]
    return out


def is_salesforce_id(value: object) -> bool:
    """A 15-character id, or an 18-character id whose checksum suffix matches."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        return False
    return len(value) == 15 or value[15:].upper() == _suffix(value[:15])


def to_18(value: str) -> str:
    if not is_salesforce_id(value):
        raise ValueError(f"not a Salesforce id: {value!r}")
    return value[:15] + _suffix(value[:15])
