"""django-q2 entry points for template suggestion."""

from __future__ import annotations

from salesforce.client import get_client
from salesforce.dispatch import MATCH_SENT_EMAILS, SUGGEST_TEMPLATES
from salesforce.models import ChangeEvent
from salesforce.pending import work_done
from templates_app import conf, feedback, selectors, services
from templates_app.models import TemplateSuggestion


def suggest_templates(event_ids: list[int]) -> int:
    """Suggest (and, where configured, send) a reply for each new lead in these events."""
    created = _suggest(event_ids)
    work_done(task=SUGGEST_TEMPLATES, event_ids=event_ids)
    return created


def _suggest(event_ids: list[int]) -> int:
    leads: dict[str, dict] = {}
    for event in ChangeEvent.objects.filter(id__in=event_ids, entity="Lead").order_by("id"):
        leads.setdefault(event.record_id, {**event.fields, "Id": event.record_id})
    if not leads:
        return 0
    for lead_id, owner_id in selectors.routed_owners(list(leads)).items():
        leads[lead_id]["OwnerId"] = owner_id
    owners = {str(lead.get("OwnerId") or "") for lead in leads.values()}
    created = services.suggestions_create(
        leads=list(leads.values()), owner_values=selectors.owner_values(owners)
    )
    needs_salesforce = conf.create_tasks() or any(
        s.template and s.template.auto_send for s in created
    )
    if created and needs_salesforce:
        client = get_client(workload="templates")
        services.suggestions_auto_send(suggestions=created, leads=leads, client=client)
        if conf.create_tasks():
            services.draft_tasks_create(suggestions=created, client=client)
    return len(created)


def match_sent_emails(event_ids: list[int]) -> int:
    """Match the reps' own emails to templates (implicit labels); returns emails matched."""
    matched = _match(event_ids)
    work_done(task=MATCH_SENT_EMAILS, event_ids=event_ids)
    return matched


def _match(event_ids: list[int]) -> int:
    if not TemplateSuggestion.objects.filter(rep_email_at__isnull=True).exists():
        return 0  # nothing waits for a rep's email: no Salesforce call
    events = ChangeEvent.objects.filter(id__in=event_ids, entity="EmailMessage").order_by("id")
    emails = feedback.sent_emails_from_events(
        events=list(events), client=get_client(workload="templates")
    )
    return feedback.sent_emails_match(emails=emails).matched if emails else 0
