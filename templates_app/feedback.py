"""What reps actually send: the owner's own first email to a lead is matched against the active
templates, stored on the suggestion, and turned into an implicit label on the template decision
(the suggestion was right, or the rep chose another template). Freeform emails label nothing."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from flywheel.choices import LabelSource, Verdict
from flywheel.models import Decision
from flywheel.services import label_record
from templates_app.models import EmailTemplate, TemplateSuggestion

logger = logging.getLogger(__name__)
MATCH_THRESHOLD = 0.6  # share of a template's own words found in the email
_PLACEHOLDER = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
_WORD = re.compile(r"[^\W\d_]{3,}")


@dataclass(frozen=True)
class SentEmail:
    lead_id: str
    at: dt.datetime
    subject: str
    body: str


@dataclass
class MatchReport:
    matched: int = 0
    freeform: int = 0
    labels: int = 0


def sent_emails_from_events(*, events: Iterable, client: object) -> list[SentEmail]:
    """Outbound, sent EmailMessage CREATE events with the lead each belongs to: the lead from
    RelatedToId, else from one EmailMessageRelation query and one Task query per batch."""
    from salesforce.records import parse_sf_datetime
    from ttfr.rules import EMAIL_SENT, is_lead_id
    from ttfr.sources import email_relations_get, task_leads_get

    outbound = {
        event.record_id: event.fields
        for event in events
        if event.fields.get("Incoming") is False and str(event.fields.get("Status")) == EMAIL_SENT
    }
    lead_of = {i: f["RelatedToId"] for i, f in outbound.items() if is_lead_id(f.get("RelatedToId"))}
    unknown = [i for i in outbound if i not in lead_of]
    for row in email_relations_get(client=client, email_ids=unknown):
        if is_lead_id(row.get("RelationId")):
            lead_of.setdefault(row["EmailMessageId"], row["RelationId"])
    activities = {outbound[i].get("ActivityId"): i for i in unknown if i not in lead_of}
    for task_id, who in task_leads_get(client=client, task_ids=filter(None, activities)).items():
        if is_lead_id(who):
            lead_of.setdefault(activities[task_id], who)
    return [
        SentEmail(
            lead_id=lead_of[i],
            at=parse_sf_datetime(fields.get("MessageDate") or fields.get("CreatedDate"))
            or dt.datetime.now(dt.UTC),
            subject=str(fields.get("Subject") or ""),
            body=str(fields.get("TextBody") or fields.get("HtmlBody") or ""),
        )
        for i, fields in outbound.items()
        if i in lead_of
    ]


def _words(text: str) -> frozenset[str]:
    return frozenset(word.casefold() for word in _WORD.findall(text))


def template_matching(
    *, subject: str, body: str, templates: Iterable[EmailTemplate]
) -> EmailTemplate | None:
    """The template whose fixed wording the email carries most of (at least MATCH_THRESHOLD)."""
    sent = _words(f"{subject} {body}")
    best, best_score = None, 0.0
    for template in templates:
        own = _words(_PLACEHOLDER.sub(" ", f"{template.subject} {template.body}"))
        score = len(own & sent) / len(own) if own else 0.0
        if score > best_score:
            best, best_score = template, score
    return best if best_score >= MATCH_THRESHOLD else None


@transaction.atomic
def sent_emails_match(*, emails: list[SentEmail]) -> MatchReport:
    """Record the first email a rep sent to each suggested lead (once per lead)."""
    first: dict[str, SentEmail] = {}
    for email in emails:
        if email.lead_id not in first or email.at < first[email.lead_id].at:
            first[email.lead_id] = email
    suggestions = TemplateSuggestion.objects.select_for_update().filter(
        lead_id__in=list(first), rep_email_at__isnull=True
    )
    templates = list(EmailTemplate.objects.filter(active=True))
    report = MatchReport()
    for suggestion in suggestions:
        email = first[suggestion.lead_id]
        matched = template_matching(subject=email.subject, body=email.body, templates=templates)
        suggestion.rep_template, suggestion.rep_email_at = matched, email.at
        suggestion.save(update_fields=["rep_template", "rep_email_at"])
        if matched is None:
            report.freeform += 1
            continue
        report.matched += 1
        report.labels += _implicit_label(suggestion, matched)
    return report


def _implicit_label(suggestion: TemplateSuggestion, sent: EmailTemplate) -> int:
    if suggestion.decision_id is None:
        return 0
    decision = Decision.objects.filter(pk=suggestion.decision_id).only("output").first()
    if decision is None:
        return 0
    agreed = suggestion.template_id == sent.pk
    corrected = (
        None if agreed else {**decision.output, "intent": sent.intent, "template": sent.name}
    )
    try:
        label_record(
            decision_id=decision.pk,
            verdict=Verdict.CORRECT if agreed else Verdict.INCORRECT,
            corrected_output=corrected,
            source=LabelSource.IMPLICIT,
            note=f"The owner's first email used the template {sent.name!r}.",
        )
    except ValidationError as error:  # a template added since the decision is not in its schema
        logger.info("lead %s: no implicit label (%s)", suggestion.lead_id, error)
        return 0
    return 1
