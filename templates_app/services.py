"""Writes for templates: loading the seed file, suggesting replies, gated auto-send."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from flywheel.deciders import model_available
from flywheel.gateway import DecisionResult, Rules, decide_many
from flywheel.services import decision_effect_record
from flywheel_site.bulk import rows_insert
from flywheel_site.config_files import nul_problem
from templates_app import conf, prompts
from templates_app.choices import Intent, SuggestionStatus
from templates_app.intents import detect
from templates_app.models import EmailTemplate, TemplateSuggestion
from templates_app.rendering import render
from templates_app.selectors import (
    active_templates_by_intent,
    compiled_keywords,
    suggestions_existing,
)

logger = logging.getLogger(__name__)
WORKLOAD = "templates"
LEAD_FIELDS = (
    "Id",
    "FirstName",
    "LastName",
    "Company",
    "Title",
    "Country",
    "Industry",
    "LeadSource",
    "Description",
    "Email",
    "HasOptedOutOfEmail",
    "OwnerId",
)


class TemplatesConfigError(ValueError):
    """The templates file is unusable; the message says where and why."""


@dataclass(frozen=True)
class LoadResult:
    created: int
    updated: int
    unchanged: int


@transaction.atomic
def templates_load_file(path: str | Path) -> LoadResult:
    """Create or update templates from a JSON file; on any error nothing changes."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise TemplatesConfigError(f"Cannot read {path}: {error}") from error
    except json.JSONDecodeError as error:
        raise TemplatesConfigError(f"{path} is not valid JSON: {error}") from error
    if problem := nul_problem(data, path=path):
        raise TemplatesConfigError(problem)
    entries = data.get("templates") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise TemplatesConfigError(f"{path} must hold an object with a non-empty 'templates' list.")
    created = updated = unchanged = 0
    for position, entry in enumerate(entries, start=1):
        state = _template_upsert(entry, where=f"{path}, template #{position}")
        created += state == "created"
        updated += state == "updated"
        unchanged += state == "unchanged"
    return LoadResult(created=created, updated=updated, unchanged=unchanged)


_EDITABLE = (
    "intent",
    "language",
    "subject",
    "body",
    "keywords",
    "active",
    "auto_send",
    "auto_send_threshold",
)


def _template_upsert(entry: object, *, where: str) -> str:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise TemplatesConfigError(f"{where}: each template needs a 'name' string.")
    unknown = set(entry) - {"name", *_EDITABLE}
    if unknown:
        raise TemplatesConfigError(f"{where}: unknown key(s) {sorted(unknown)}.")
    template = EmailTemplate.objects.filter(name=entry["name"]).first()
    state = "updated" if template else "created"
    template = template or EmailTemplate(name=entry["name"])
    before = {field: getattr(template, field) for field in _EDITABLE}
    for field in _EDITABLE:
        if field in entry:
            setattr(template, field, entry[field])
    try:
        template.full_clean(validate_unique=False)
    except (ValidationError, TypeError, ValueError) as error:
        detail = "; ".join(
            f"{field}: {' '.join(messages)}"
            for field, messages in getattr(error, "message_dict", {}).items()
        ) or str(error)
        raise TemplatesConfigError(f"{where} ({entry['name']}): {detail}") from error
    if state == "updated" and before == {field: getattr(template, field) for field in _EDITABLE}:
        return "unchanged"
    template.save()
    return state


def lead_context(fields: dict) -> dict:
    """The JSON-safe lead facts a decision sees."""
    context = {name: fields.get(name) for name in LEAD_FIELDS if fields.get(name) not in (None, "")}
    if isinstance(context.get("Description"), str):
        context["Description"] = context["Description"][: prompts.MAX_TEXT_CHARS]
    return context


def template_choose(*, context: dict, templates: dict[str, EmailTemplate]) -> DecisionResult:
    """Intent and template for one lead through the flywheel gateway (rules as the fallback)."""
    return templates_choose(contexts=[context], templates=templates)[0]


def templates_choose(
    *, contexts: list[dict], templates: dict[str, EmailTemplate]
) -> list[DecisionResult]:
    """Intent and template for each lead, in order: keywords compiled once, decisions recorded
    with bulk inserts. Leads with inquiry text ask a model when one is available."""
    compiled = compiled_keywords(templates)
    names = {intent: template.name for intent, template in templates.items()}
    fallback_name = names.get(Intent.GENERAL) or next(iter(names.values()))

    def rules(ctx: dict) -> Rules:
        guess = detect(str(ctx.get("Description") or ""), compiled)
        intent = guess.intent if guess.intent in names else Intent.GENERAL.value
        return Rules(
            output={
                "intent": intent,
                "template": names.get(intent, fallback_name),
                "confidence": guess.confidence,
                "reason": guess.reason,
            },
            confidence=guess.confidence,
            explanation=guess.reason,
        )

    ask_model = model_available(WORKLOAD)
    groups: dict[bool, list[int]] = {True: [], False: []}
    for position, context in enumerate(contexts):
        has_text = bool(str(context.get("Description") or "").strip())
        groups[has_text and ask_model].append(position)
    results: list[DecisionResult | None] = [None] * len(contexts)
    for use_llm, positions in groups.items():
        if not positions:
            continue
        cases = [
            {
                "subject_id": str(contexts[i].get("Id") or ""),
                "context": contexts[i],
                "messages": prompts.messages(contexts[i]),
                "rules": rules,
            }
            for i in positions
        ]
        decided = decide_many(
            workload=WORKLOAD,
            cases=cases,
            prompt_version=prompts.PROMPT_VERSION,
            output_schema=prompts.output_schema(names),
            use_llm=use_llm,
        )
        for position, result in zip(positions, decided, strict=True):
            results[position] = result
    return [result for result in results if result is not None]


def suggestions_create(
    *, leads: list[dict], owner_values: dict[str, dict] | None = None
) -> list[TemplateSuggestion]:
    """Suggest a reply for each lead that has none yet (idempotent per lead): one bulk decision
    insert and one bulk suggestion insert per call; returns the suggestions this call created."""
    templates = active_templates_by_intent()
    if not templates:
        logger.warning("no active templates: %d lead(s) get no suggestion", len(leads))
        return []
    done = suggestions_existing([lead["Id"] for lead in leads])
    todo = list({lead["Id"]: lead for lead in leads if lead["Id"] not in done}.values())
    if not todo:
        return []
    results = templates_choose(contexts=[lead_context(f) for f in todo], templates=templates)
    rows = [
        _suggestion_build(fields, result, templates=templates, owner_values=owner_values or {})
        for fields, result in zip(todo, results, strict=True)
    ]
    # A lead suggested meanwhile by another worker keeps its first suggestion.
    rows_insert(rows, ignore_conflicts=True)
    return list(
        TemplateSuggestion.objects.select_related("template").filter(
            lead_id__in=[row.lead_id for row in rows],
            decision_id__in=[result.decision_id for result in results],
        )
    )


def _suggestion_build(
    fields: dict,
    result: DecisionResult,
    *,
    templates: dict[str, EmailTemplate],
    owner_values: dict[str, dict],
) -> TemplateSuggestion:
    by_name = {template.name: template for template in templates.values()}
    template = by_name.get(result.output.get("template")) or templates.get(
        result.output.get("intent")
    )
    template = template or templates.get(Intent.GENERAL) or next(iter(templates.values()))
    values = {**fields, **owner_values.get(str(fields.get("OwnerId") or ""), {})}
    rendered = render(subject=template.subject, body=template.body, values=values)
    name = " ".join(str(fields.get(key) or "") for key in ("FirstName", "LastName")).strip()
    return TemplateSuggestion(
        lead_id=fields["Id"],
        owner_id=str(fields.get("OwnerId") or "")[:18],
        template=template,
        decision_id=result.decision_id,
        intent=result.output.get("intent", template.intent),
        confidence=result.confidence,
        decided_by=result.decided_by,
        reason=result.explanation[:2000],
        lead_name=name[:255],
        company=str(fields.get("Company") or "")[:255],
        email=str(fields.get("Email") or "")[:255],
        subject=rendered.subject,
        body=rendered.body,
    )


def auto_send_candidates(
    suggestions: list[TemplateSuggestion], leads: dict[str, dict]
) -> list[TemplateSuggestion]:
    """Suggestions whose template auto-sends at this confidence; opted-out leads are marked."""
    eligible: list[TemplateSuggestion] = []
    for suggestion in suggestions:
        template = suggestion.template
        if (
            template is None
            or not template.auto_send
            or suggestion.confidence < template.auto_send_threshold
        ):
            continue
        lead = leads.get(suggestion.lead_id, {})
        if lead.get("HasOptedOutOfEmail") is True:
            TemplateSuggestion.objects.filter(
                pk=suggestion.pk, status=SuggestionStatus.SUGGESTED
            ).update(status=SuggestionStatus.OPTED_OUT)
            continue
        if suggestion.email:
            eligible.append(suggestion)
    return eligible


def suggestions_auto_send(
    *, suggestions: list[TemplateSuggestion], leads: dict[str, dict], client
) -> int:
    """Send once per lead through the Simple Email Action; returns the number sent.

    The row moves SUGGESTED → SENDING in its own transaction before the call, so a retry after a
    crash never sends again (at most once: an interrupted send stays SENDING for a human to check).
    """
    claimed: list[TemplateSuggestion] = []
    for suggestion in auto_send_candidates(suggestions, leads):
        with transaction.atomic():
            moved = TemplateSuggestion.objects.filter(
                pk=suggestion.pk, status=SuggestionStatus.SUGGESTED
            ).update(status=SuggestionStatus.SENDING)
        if moved:
            claimed.append(suggestion)
    if not claimed:
        return 0
    inputs = [_email_input(suggestion) for suggestion in claimed]
    results = client.send_email_simple(inputs)
    sent = 0
    for suggestion, result in zip(claimed, results, strict=False):
        ok = bool(result.get("isSuccess"))
        sent += ok
        TemplateSuggestion.objects.filter(pk=suggestion.pk).update(
            status=SuggestionStatus.SENT if ok else SuggestionStatus.SEND_FAILED,
            sent_at=timezone.now() if ok else None,
            send_error="" if ok else json.dumps(result.get("errors"))[:2000],
        )
        if suggestion.decision_id:
            _effect(suggestion.decision_id, {"email_sent": ok, "lead_id": suggestion.lead_id})
    return sent


def _email_input(suggestion: TemplateSuggestion) -> dict:
    data = {
        "emailAddresses": suggestion.email,
        "emailSubject": suggestion.subject,
        "emailBody": suggestion.body,
        "senderType": conf.sender_type(),
        "relatedRecordId": suggestion.lead_id,
        "logEmailOnSend": True,
    }
    if conf.sender_address():
        data["senderAddress"] = conf.sender_address()
    return data


def _effect(decision_id: int, effect: dict) -> None:
    decision_effect_record(decision_id=decision_id, effect=effect)


def draft_tasks_create(*, suggestions: list[TemplateSuggestion], client) -> int:
    """Open Tasks for the owners carrying the drafts (when TEMPLATES_CREATE_TASKS is on)."""
    records = [
        {
            "WhoId": suggestion.lead_id,
            "OwnerId": suggestion.owner_id,
            "Subject": f"Suggested reply: {suggestion.subject}"[:255],
            "Description": suggestion.body,
            "Status": "Not Started",
        }
        for suggestion in suggestions
        if suggestion.owner_id.startswith("005")
    ]
    if not records:
        return 0
    results = client.create_records("Task", records)
    failed = [result for result in results if not result.success]
    for result in failed:
        logger.warning("draft task not created: %s", result.errors)
    return len(records) - len(failed)
