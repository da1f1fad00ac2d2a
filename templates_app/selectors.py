"""Reads for templates and suggestions."""

from __future__ import annotations

from django.db.models import QuerySet

from templates_app.intents import compile_keywords
from templates_app.models import EmailTemplate, TemplateSuggestion


def active_templates_by_intent() -> dict[str, EmailTemplate]:
    """The active template per intent (the first by name when several share one)."""
    chosen: dict[str, EmailTemplate] = {}
    for template in EmailTemplate.objects.filter(active=True).order_by("intent", "name"):
        chosen.setdefault(template.intent, template)
    return chosen


def compiled_keywords(templates: dict[str, EmailTemplate]) -> dict[str, list[tuple[str, float]]]:
    keywords: dict[str, list[str]] = {}
    for intent, template in templates.items():
        keywords.setdefault(intent, []).extend(template.keywords or [])
    return compile_keywords(keywords)


def suggestions_existing(lead_ids: list[str]) -> set[str]:
    return set(
        TemplateSuggestion.objects.filter(lead_id__in=lead_ids).values_list("lead_id", flat=True)
    )


def suggestion_list(*, owner_id: str | None = None, intent: str | None = None) -> QuerySet:
    queryset = TemplateSuggestion.objects.select_related("template")
    if owner_id:
        queryset = queryset.filter(owner_id=owner_id)
    if intent:
        queryset = queryset.filter(intent=intent)
    return queryset
