"""Salesforce-shaped record ids: 15 base-62 characters plus the 3-character checksum suffix."""

from __future__ import annotations

import itertools
import threading

KEY_PREFIXES: dict[str, str] = {
    "Lead": "00Q",
    "Task": "00T",
    "EmailMessage": "02s",
    "EmailMessageRelation": "0Ee",
    "User": "005",
    "Group": "00G",
    "Organization": "00D",
}
PREFIX_TO_SOBJECT: dict[str, str] = {prefix: name for name, prefix in KEY_PREFIXES.items()}

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_CHARS = frozenset(_BASE62)


def checksum_suffix(id15: str) -> str:
    """The three characters Salesforce appends so that an id survives case-insensitive systems."""
    suffix = ""
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        bits = sum(1 << i for i, char in enumerate(chunk) if "A" <= char <= "Z")
        suffix += _SUFFIX_ALPHABET[bits]
    return suffix


def to_18(record_id: str) -> str:
    """Return the 18-character form of a 15- or 18-character id; raise ValueError otherwise."""
    if not is_valid_id(record_id):
        raise ValueError(f"invalid Salesforce id: {record_id!r}")
    return record_id[:15] + checksum_suffix(record_id[:15])


def is_valid_id(value: object) -> bool:
    """True for a well-formed 15-character id or an 18-character id with a matching suffix."""
    if not isinstance(value, str) or len(value) not in (15, 18):
        return False
    if not set(value[:15]) <= _ID_CHARS:
        return False
    return len(value) == 15 or value[15:].upper() == checksum_suffix(value[:15])


def sobject_for_id(record_id: str) -> str | None:
    """The object type a key prefix belongs to (None when unknown)."""
    return PREFIX_TO_SOBJECT.get(record_id[:3]) if isinstance(record_id, str) else None


class IdFactory:
    """Generates unique ids per key prefix, deterministic for a given instance tag."""

    def __init__(self, *, instance: str = "4x", start: int = 1) -> None:
        if len(instance) != 2:
            raise ValueError("instance tag must be two characters")
        self._instance = instance
        self._counter = itertools.count(start)
        self._lock = threading.Lock()

    def new_id(self, sobject_or_prefix: str) -> str:
        prefix = KEY_PREFIXES.get(sobject_or_prefix, sobject_or_prefix)
        if len(prefix) != 3:
            raise ValueError(f"unknown object or key prefix: {sobject_or_prefix!r}")
        with self._lock:
            number = next(self._counter)
        body = _encode62(number).rjust(10, "0")
        return to_18(prefix + self._instance + body)

    def advance_past(self, number: int) -> None:
        """Make sure later ids never reuse a counter value at or below ``number``."""
        with self._lock:
            self._counter = itertools.count(number + 1)


def _encode62(number: int) -> str:
    digits = ""
    while True:
        number, rem = divmod(number, 62)
        digits = _BASE62[rem] + digits
        if number == 0:
            return digits


def decode_counter(record_id: str) -> int:
    """The counter encoded in an id made by IdFactory (used to resume after a restart)."""
    number = 0
    for char in record_id[5:15]:
        number = number * 62 + _BASE62.index(char)
    return number
