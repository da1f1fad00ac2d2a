"""Suggestions are stored once per lead; auto-send is gated, sent once, and respects opt-outs."""

from pathlib import Path

import pytest
from django.utils import timezone

from flywheel.models import Decision
from routing.models import Assignment, Rep
from salesforce.client import get_client
from salesforce.models import ChangeEvent
from templates_app import services
from templates_app.choices import SuggestionStatus
from templates_app.models import EmailTemplate, TemplateSuggestion
from templates_app.tasks import suggest_templates

pytestmark = pytest.mark.django_db
SEED = Path(__file__).resolve().parents[2] / "config" / "templates.json"


def lead_event(lead_id: str, **fields) -> ChangeEvent:
    base = {"FirstName": "Ana", "LastName": "Lopez", "Company": "Acme", "Email": "ana@acme.test"}
    return ChangeEvent.objects.create(
        entity="Lead",
        change_type="CREATE",
        record_id=lead_id,
        fields={**base, **fields},
        commit_timestamp=timezone.now(),
    )


def test_load_config_is_idempotent_and_rejects_bad_files(tmp_path):
    first = services.templates_load_file(SEED)
    second = services.templates_load_file(SEED)
    bad = tmp_path / "bad.json"
    bad.write_text(
        '{"templates": [{"name": "pricing", "intent": "pricing", "subject": "{{ Nope }}", "body": "x"}]}'
    )

    with pytest.raises(services.TemplatesConfigError, match="Unknown variable 'Nope'"):
        services.templates_load_file(bad)

    assert first.created == 7 and second.unchanged == 7
    assert "Nope" not in EmailTemplate.objects.get(name="pricing").subject


def test_one_suggestion_and_one_decision_per_lead_even_when_redelivered(templates):
    event = lead_event("00Q5f000000AAAAEA0", Description="How much does it cost for 40 seats?")

    suggest_templates([event.id])
    suggest_templates([event.id, lead_event("00Q5f000000AAAAEA0").id])

    suggestion = TemplateSuggestion.objects.get()
    assert suggestion.intent == "pricing"
    assert suggestion.decided_by == "rules"
    assert "Hi Ana" in suggestion.body
    assert Decision.objects.filter(workload="templates").count() == 1


def test_reply_is_signed_by_the_owner_routing_chose(templates):
    Rep.objects.create(user_id="0055f0000000009AAA", name="Ines Garcia", team="EMEA")
    Assignment.objects.create(
        lead_id="00Q5f000000AAACEA0", owner_id="0055f0000000009AAA", status="written"
    )
    routed = lead_event("00Q5f000000AAACEA0", OwnerId="00G5f0000000007EAA", Description="demo")
    unrouted = lead_event("00Q5f000000AAADEA0", OwnerId="00G5f0000000007EAA", Description="demo")

    suggest_templates([routed.id, unrouted.id])

    signed = TemplateSuggestion.objects.get(lead_id=routed.record_id)
    assert signed.owner_id == "0055f0000000009AAA"
    assert signed.body.endswith("Best regards,\nInes Garcia\nSales, Europe")
    assert "The Sales Team" in TemplateSuggestion.objects.get(lead_id=unrouted.record_id).body


def test_hostile_lead_fields_are_rendered_literally(templates):
    event = lead_event(
        "00Q5f000000AAABEA0", FirstName="{{ OwnerEmail }}{% debug %}", Description="demo please"
    )

    suggest_templates([event.id])

    assert "Hi {{ OwnerEmail }}{% debug %}," in TemplateSuggestion.objects.get().body


def enable_auto_send(intent: str = "pricing", threshold: float = 0.5) -> None:
    EmailTemplate.objects.filter(intent=intent).update(
        auto_send=True, auto_send_threshold=threshold
    )


def create_lead(emulator, **fields) -> str:
    body = {"LastName": "Lopez", "Company": "Acme", "Email": "ana@acme.test", **fields}
    response = emulator.control("POST", "/__emulator__/records/Lead", json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()["id"]


def sent_emails(emulator, lead_id: str) -> int:
    records = get_client(workload="test").query_all(
        f"SELECT Id FROM EmailMessageRelation WHERE RelationId = '{lead_id}'"
    )
    return len(records)


def test_auto_send_sends_once_through_the_email_action(templates, sf_settings):
    enable_auto_send()
    lead_id = create_lead(sf_settings)
    event = lead_event(lead_id, Description="Please send pricing and a quote for 50 licenses")

    suggest_templates([event.id])
    suggest_templates([event.id])
    suggestion = TemplateSuggestion.objects.get(lead_id=lead_id)
    services.suggestions_auto_send(
        suggestions=[suggestion], leads={lead_id: event.fields}, client=get_client(workload="test")
    )

    assert TemplateSuggestion.objects.get(lead_id=lead_id).status == SuggestionStatus.SENT
    assert sent_emails(sf_settings, lead_id) == 1
    assert Decision.objects.get(workload="templates").effect["email_sent"] is True


def test_opted_out_leads_are_never_emailed(templates, sf_settings):
    enable_auto_send()
    lead_id = create_lead(sf_settings, HasOptedOutOfEmail=True)
    event = lead_event(lead_id, Description="pricing quote please", HasOptedOutOfEmail=True)

    suggest_templates([event.id])

    assert TemplateSuggestion.objects.get(lead_id=lead_id).status == SuggestionStatus.OPTED_OUT
    assert sent_emails(sf_settings, lead_id) == 0


def test_low_confidence_is_not_sent(templates, sf_settings):
    enable_auto_send(threshold=0.99)
    lead_id = create_lead(sf_settings)
    event = lead_event(lead_id, Description="pricing and a demo and an integration question")

    suggest_templates([event.id])

    assert TemplateSuggestion.objects.get(lead_id=lead_id).status == SuggestionStatus.SUGGESTED
    assert sent_emails(sf_settings, lead_id) == 0


def test_a_batch_of_leads_is_suggested_with_a_bounded_number_of_queries(
    templates, django_assert_max_num_queries
):
    leads = [
        {"Id": f"00Q5f0000{n:05d}AEA0", "FirstName": "Ana", "Description": "pricing for 40 seats?"}
        for n in range(60)
    ]

    with django_assert_max_num_queries(12):
        created = services.suggestions_create(leads=leads)

    assert len(created) == 60 and {s.intent for s in created} == {"pricing"}
    assert Decision.objects.filter(workload="templates").count() == 60
    assert services.suggestions_create(leads=leads) == []


def test_edited_keywords_apply_to_the_next_lead_in_the_same_process(templates):
    suggest_templates([lead_event("00Q5f000000KKKAEA0", Description="zebra crossing").id])
    pricing = EmailTemplate.objects.get(intent="pricing")
    pricing.keywords = [*pricing.keywords, "zebra"]
    pricing.save()

    suggest_templates([lead_event("00Q5f000000KKKBEA0", Description="zebra crossing").id])

    intents = dict(TemplateSuggestion.objects.values_list("lead_id", "intent"))
    assert intents == {"00Q5f000000KKKAEA0": "general", "00Q5f000000KKKBEA0": "pricing"}
