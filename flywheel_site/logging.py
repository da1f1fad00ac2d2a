"""A log filter that masks credentials before any handler writes them."""

from __future__ import annotations

import logging
import re

_PATTERNS = [
    # Salesforce session ids / access tokens look like 00D...!AQ...
    re.compile(r"00D[0-9A-Za-z]{12,15}![0-9A-Za-z._-]{20,}"),
    re.compile(r"(?i)(bearer\s+)[0-9A-Za-z._!-]{16,}"),
    re.compile(r"sk-ant-[0-9A-Za-z_-]{10,}"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
    re.compile(
        r"(?i)((?:access_token|session_id|api[_-]?key|assertion)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+"
    ),
]
MASK = "[redacted]"


def redact(text: str) -> str:
    """Replace anything shaped like a token, API key or private key with a mask."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + MASK, text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Masks the message and any traceback (exception messages often quote a token)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
