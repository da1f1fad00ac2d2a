"""Safe rendering of reply templates.

Templates use ``{{ Variable }}`` and ``{{ Variable|default:"text" }}``. Only the template text is
parsed, once; lead values are inserted as plain data and never parsed again, so a lead called
``{{ secret }}`` or ``{% load %}`` stays literally that. The output is plain text (for the email
action); pages showing it escape it like any other text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KNOWN_VARIABLES: dict[str, str] = {
    "FirstName": "Lead first name",
    "LastName": "Lead last name",
    "Company": "Lead company",
    "Title": "Lead job title",
    "Country": "Lead country",
    "Industry": "Lead industry",
    "LeadSource": "Lead source",
    "OwnerName": "Lead owner's full name",
    "OwnerFirstName": "Lead owner's first name",
    "OwnerEmail": "Lead owner's email address",
    "OwnerSignature": "Lead owner's signature block",
}
SAMPLE_LEAD: dict[str, str] = {
    "FirstName": "Ana",
    "LastName": "Lopez",
    "Company": "Acme Analytics",
    "Title": "Head of Operations",
    "Country": "Spain",
    "Industry": "Software",
    "LeadSource": "Web",
    "OwnerName": "Ines Garcia",
    "OwnerFirstName": "Ines",
    "OwnerEmail": "ines.garcia@flywheel.demo",
    "OwnerSignature": "Account Executive, EMEA",
}
MAX_VALUE_CHARS = 500

_TAG = re.compile(
    r"\{\{\s*(?P<name>[A-Za-z][A-Za-z0-9_]*)\s*"
    r"(?:\|\s*default\s*:\s*\"(?P<default>[^\"{}]*)\"\s*)?\}\}"
)
_ANY_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)


class TemplateSyntaxProblem(ValueError):
    """The template text has a placeholder the renderer does not accept."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    missing: tuple[str, ...]


def template_problems(text: str) -> list[str]:
    """Human-readable problems with a template text (empty when it is valid)."""
    problems: list[str] = []
    for match in _ANY_TAG.finditer(text):
        tag = match.group(0)
        parsed = _TAG.fullmatch(tag)
        if parsed is None:
            problems.append(
                f"{tag!r} is not a valid placeholder: use {{{{ Variable }}}} or "
                f'{{{{ Variable|default:"text" }}}} (no template tags or other filters).'
            )
        elif parsed.group("name") not in KNOWN_VARIABLES:
            known = ", ".join(sorted(KNOWN_VARIABLES))
            problems.append(f"Unknown variable {parsed.group('name')!r}. Known variables: {known}.")
    leftover = _ANY_TAG.sub("", text)
    if "{{" in leftover or "}}" in leftover or "{%" in leftover or "%}" in leftover:
        problems.append("Unbalanced '{{', '}}', '{%' or '%}' in the text.")
    return problems


def render_text(text: str, values: dict[str, object]) -> tuple[str, list[str]]:
    """Fill placeholders from ``values``; returns the text and the variables that used a default."""
    missing: list[str] = []

    def fill(match: re.Match) -> str:
        name = match.group("name")
        value = _clean(values.get(name))
        if value:
            return value
        missing.append(name)
        return match.group("default") or ""

    return _TAG.sub(fill, text), missing


def render(*, subject: str, body: str, values: dict[str, object]) -> Rendered:
    rendered_subject, missing_subject = render_text(subject, values)
    rendered_body, missing_body = render_text(body, values)
    missing = tuple(dict.fromkeys(missing_subject + missing_body))
    return Rendered(
        subject=" ".join(rendered_subject.split())[:255], body=rendered_body, missing=missing
    )


def _clean(value: object) -> str:
    if value is None or isinstance(value, bool):
        return ""
    text = str(value).replace("\r", " ").replace("\x00", "")
    return " ".join(text.split())[:MAX_VALUE_CHARS]
