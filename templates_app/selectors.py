"""Reads for templates and suggestions."""

from __future__ import annotations

import functools

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
    """The templates' keywords, normalised once per distinct set of keywords per process
    (compiling them cost more than the rest of a one-lead suggestion). Read only: shared."""
    return _compiled(tuple((intent, tuple(t.keywords or ())) for intent, t in templates.items()))


@functools.lru_cache(maxsize=8)
def _compiled(keywords: tuple[tuple[str, tuple[str, ...]], ...]) -> dict:
    by_intent: dict[str, list[str]] = {}
    for intent, words in keywords:
        by_intent.setdefault(intent, []).extend(words)
    return compile_keywords(by_intent)


def routed_owners(lead_ids: list[str]) -> dict[str, str]:
    """The owner routing chose for each of these leads, where it has already routed them."""
    from routing.models import Assignment

    return dict(
        Assignment.objects.filter(lead_id__in=lead_ids)
        .exclude(owner_id="")
        .values_list("lead_id", "owner_id")
    )


def owner_values(owner_ids: set[str]) -> dict[str, dict[str, str]]:
    """Template variables of the reps among ``owner_ids`` (queues have none: defaults apply)."""
    from routing.models import Rep

    values: dict[str, dict[str, str]] = {}
    for rep in Rep.objects.filter(user_id__in=owner_ids):
        values[rep.user_id] = {
            "OwnerName": rep.name,
            "OwnerFirstName": rep.name.split()[0] if rep.name.split() else "",
            "OwnerSignature": f"Sales, {rep.get_team_display()}" if rep.team else "Sales",
        }
    return values


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
