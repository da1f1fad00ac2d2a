"""A rep's own first email is matched to a template and labels the suggestion implicitly."""

import datetime as dt

import pytest
from django.utils import timezone

from flywheel.models import Label
from salesforce.models import ChangeEvent
from templates_app.feedback import SentEmail, sent_emails_match, template_matching
from templates_app.models import EmailTemplate, TemplateSuggestion
from templates_app.rendering import render
from templates_app.tasks import match_sent_emails, suggest_templates
from tests.templates.test_suggestions import lead_event

pytestmark = pytest.mark.django_db
LEAD = "00Q5f000000AAAFEA0"
AT = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def suggested(templates) -> TemplateSuggestion:
    suggest_templates([lead_event(LEAD, Description="What does it cost for 40 seats?").id])
    return TemplateSuggestion.objects.get(lead_id=LEAD)


def written_with(name: str) -> SentEmail:
    template = EmailTemplate.objects.get(name=name)
    text = render(subject=template.subject, body=template.body, values={"FirstName": "Ana"})
    return SentEmail(lead_id=LEAD, at=AT, subject=text.subject, body=text.body)


def test_each_seed_template_is_recognised_in_its_own_rendering(templates):
    active = list(EmailTemplate.objects.filter(active=True))

    for template in active:
        email = written_with(template.name)
        matched = template_matching(subject=email.subject, body=email.body, templates=active)
        assert matched == template


def test_a_freeform_email_matches_no_template(templates):
    matched = template_matching(
        subject="Quick question",
        body="Hi Ana, saw your note. Call me tomorrow at 10? Cheers, Ines",
        templates=EmailTemplate.objects.filter(active=True),
    )

    assert matched is None


def test_rep_choosing_another_template_corrects_the_suggestion_once(suggested):
    assert suggested.template.name == "pricing"

    first = sent_emails_match(emails=[written_with("demo")])
    again = sent_emails_match(emails=[written_with("pricing")])

    suggested.refresh_from_db()
    label = Label.objects.get(decision_id=suggested.decision_id)
    assert (first.matched, first.labels, again.matched) == (1, 1, 0)
    assert suggested.rep_template.name == "demo" and suggested.rep_email_at == AT
    assert (label.source, label.verdict) == ("implicit", "incorrect")
    assert label.corrected_output["template"] == "demo"
    assert label.corrected_output["intent"] == "demo"


def test_rep_sending_the_suggested_template_confirms_it(suggested):
    report = sent_emails_match(emails=[written_with("pricing")])

    label = Label.objects.get(decision_id=suggested.decision_id)
    assert report.labels == 1 and (label.verdict, label.corrected_output) == ("correct", None)


def test_rep_email_is_linked_to_its_lead_through_the_org(templates, sf_settings):
    # given a lead with a suggestion, and a rep's email to it in the org (linked by a relation)
    lead_id = sf_settings.control(
        "POST", "/__emulator__/records/Lead", json={"LastName": "Lopez", "Company": "Acme"}
    ).json()["id"]
    suggest_templates([lead_event(lead_id, Description="How much for 40 seats?").id])
    demo = written_with("demo")
    email_id = sf_settings.control(
        "POST",
        "/__emulator__/records/EmailMessage",
        json={
            "Incoming": False,
            "Status": "3",
            "Subject": demo.subject,
            "TextBody": demo.body,
            "MessageDate": "2026-11-30T09:00:00.000+0000",
        },
    ).json()["id"]
    sf_settings.control(
        "POST",
        "/__emulator__/records/EmailMessageRelation",
        json={"EmailMessageId": email_id, "RelationId": lead_id, "RelationType": "ToAddress"},
    )
    event = ChangeEvent.objects.create(
        entity="EmailMessage",
        change_type="CREATE",
        record_id=email_id,
        fields={"Incoming": False, "Status": "3", "Subject": demo.subject, "TextBody": demo.body},
        commit_timestamp=timezone.now(),
    )
    # when the listener's task runs
    matched = match_sent_emails([event.id])
    # then the suggestion knows what the rep sent
    assert matched == 1
    assert TemplateSuggestion.objects.get(lead_id=lead_id).rep_template.name == "demo"


def test_templates_dashboard_shows_suggestion_vs_sent_agreement(suggested):
    from analytics.filters import Filters
    from analytics.metrics.templates import templates_dashboard

    sent_emails_match(emails=[written_with("demo")])

    kpis = dict(templates_dashboard(Filters.from_query({}, today=timezone.now().date())).kpis)
    assert kpis["Reps' emails matching a template"] == 1
    assert kpis["Suggestion vs sent agreement"] == "0.0%"
