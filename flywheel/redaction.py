"""Keeping secrets out of decision rows and PII out of exports."""

from __future__ import annotations

import json
import re
from typing import Any

from flywheel import conf
from flywheel_site.logging import MASK, redact

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Phone-like runs: optional +, then 7+ digits with spaces, dots, dashes or parentheses between.
PHONE = re.compile(r"(?<![\w])\+?\(?\d[\d\s().-]{5,}\d(?![\w])")


# Every credential pattern of ``flywheel_site.logging.redact`` needs one of these (lowercased)
# literals: a string holding none of them (nor the API key) skips its five scans, the common case
# for the many strings of a decision (tests/flywheel/test_redaction.py keeps the two in step).
# Substring tests on the lowered text are several times cheaper than one case-blind regex.
SECRET_HINTS = (
    "00d",
    "sk-ant-",
    "private key",
    "bearer",
    "access_token",
    "session_id",
    "api_key",
    "api-key",
    "apikey",
    "assertion",
)


def may_hold_secret(text: str) -> bool:
    lowered = text.lower()
    return any(hint in lowered for hint in SECRET_HINTS)


def secrets_scrub(text: str) -> str:
    """Mask the configured API key and anything shaped like a credential."""
    return _scrub(text, conf.api_key())


def _scrub(text: str, key: str) -> str:
    if key and key in text:
        text = text.replace(key, MASK)
    if not may_hold_secret(text):
        return text
    return redact(text)


def api_key_strip(value: Any) -> Any:
    """``value`` (any JSON-safe data) with the configured API key and anything shaped like a
    credential (a Salesforce access token, a private key...) masked in every string.

    ``value`` itself comes back, not a copy, when nothing in it needs masking: one look at its
    JSON text (every string and key of it, the hints' characters unescaped) instead of a walk of
    every string, the common case for the many values of a decision."""
    key = conf.api_key()
    if isinstance(value, dict | list | tuple) and not _may_hold(value, key):
        return value
    return _strip(value, key)


def secrets_may_be_in(*values: Any) -> bool:
    """False when no string in ``values`` (JSON-safe data) holds the API key or a credential
    hint: one look at their joint JSON text, so a decision's several values cost one check."""
    return _may_hold(list(values), conf.api_key())


def _may_hold(value: dict | list | tuple, key: str) -> bool:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):  # not JSON-safe (a cycle, odd keys): walk it
        return True
    return may_hold_secret(text) or bool(key and json.dumps(key, ensure_ascii=False)[1:-1] in text)


def _strip(value: Any, key: str) -> Any:
    if isinstance(value, str):
        return _scrub(value, key)
    if isinstance(value, dict):
        return {_strip(k, key): _strip(v, key) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strip(item, key) for item in value]
    return value


def pii_redact(text: str) -> str:
    """Replace e-mail addresses and phone numbers with placeholders."""
    text = EMAIL.sub("[email]", text)
    return PHONE.sub(_phone, text)


def _phone(match: re.Match[str]) -> str:
    digits = sum(ch.isdigit() for ch in match.group(0))
    return "[phone]" if digits >= 7 else match.group(0)
