"""Keeping secrets out of decision rows and PII out of exports."""

from __future__ import annotations

import re
from typing import Any

from flywheel import conf
from flywheel_site.logging import MASK, redact

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Phone-like runs: optional +, then 7+ digits with spaces, dots, dashes or parentheses between.
PHONE = re.compile(r"(?<![\w])\+?\(?\d[\d\s().-]{5,}\d(?![\w])")


def secrets_scrub(text: str) -> str:
    """Mask the configured API key and anything shaped like a credential."""
    key = conf.api_key()
    if key and key in text:
        text = text.replace(key, MASK)
    return redact(text)


def api_key_strip(value: Any) -> Any:
    """``value`` (any JSON-safe data) with the configured API key and anything shaped like a
    credential (a Salesforce access token, a private key...) masked in every string."""
    if isinstance(value, str):
        return secrets_scrub(value)
    if isinstance(value, dict):
        return {api_key_strip(k): api_key_strip(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [api_key_strip(item) for item in value]
    return value


def pii_redact(text: str) -> str:
    """Replace e-mail addresses and phone numbers with placeholders."""
    text = EMAIL.sub("[email]", text)
    return PHONE.sub(_phone, text)


def _phone(match: re.Match[str]) -> str:
    digits = sum(ch.isdigit() for ch in match.group(0))
    return "[phone]" if digits >= 7 else match.group(0)
