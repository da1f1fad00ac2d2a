"""Serving: the local decider as champion, shadow and A/B challenger, promotion and demotion."""

from __future__ import annotations

import pytest

from flywheel.deciders import Lineup, ModelAnswer, ab_bucket, lineup_for
from flywheel.learning.artifacts import artifact_resolve
from flywheel.learning.selectors import shadow_figures
from flywheel.learning.services import model_version_mode_set, workload_champion_demote
from flywheel.learning.training import model_train
from flywheel.models import Decision, ModelVersion
from flywheel.services import label_record
from routing.models import Assignment
from routing.services.assign import leads_route
from templates_app.choices import SuggestionStatus
from templates_app.services import suggestions_auto_send, suggestions_create
from tests.flywheel import test_learning_helpers as helpers
from tests.flywheel.test_learning_helpers import (
    lead_id,
    routing_decide,
    routing_labelled,
    templates_decide,
    templates_labelled,
)
from tests.routing import conftest as routing_fixtures
from tests.routing.conftest import WORKDAY
from tests.routing.fakes import FakeClient
from tests.routing.test_assign import INTEGRATION, TRIAGE, lead_event

pytestmark = pytest.mark.django_db
_clean_serving = helpers._clean_serving
templates_loaded = helpers.templates_loaded
loaded_policy = routing_fixtures.loaded_policy


@pytest.fixture
def templates_version(templates_loaded) -> ModelVersion:
    templates_labelled(templates_loaded)
    return model_train(workload="templates", min_labels=50).version


@pytest.fixture
def routing_version(db) -> ModelVersion:
    routing_labelled(repeats=4)
    return model_train(workload="routing", min_labels=20).version


@pytest.fixture
def llm_unreachable(settings):
    """An API key, so the templates workload asks for a model answer; the LLM host refuses."""
    settings.ANTHROPIC_API_KEY = "sk-ant-test-only"
    settings.LLM_MAX_RETRIES = 0


def test_promotion_switches_the_decider_and_demotion_restores_it(routing_version):
    lead = {"NumberOfEmployees": "around 400", "Country": "Frnace"}
    # given no champion: without an LLM the rules' fallback queue decides
    before = routing_decide(lead)
    # when the version is promoted
    model_version_mode_set(version=routing_version, mode="champion")
    promoted = routing_decide(lead)
    # then the local model decides, and after a demotion the fallback is back
    workload_champion_demote(workload="routing")
    after = routing_decide(lead)
    assert (before.decided_by, before.output["segment"]) == ("fallback", "UNKNOWN")
    assert (promoted.decided_by, promoted.output["segment"], promoted.output["region"]) == (
        "model",
        "MM",
        "EMEA",
    )
    assert Decision.objects.get(pk=promoted.decision_id).model_name == "local:routing:v1"
    assert after.decided_by == "fallback"
    routing_version.refresh_from_db()
    assert [(h["from"], h["to"]) for h in routing_version.history] == [
        ("off", "champion"),
        ("champion", "off"),
    ]


def test_a_new_champion_replaces_the_previous_one(routing_version):
    model_version_mode_set(version=routing_version, mode="champion")
    second = model_train(workload="routing", min_labels=20, mode="off").version

    model_version_mode_set(version=second, mode="champion")

    modes = dict(ModelVersion.objects.values_list("version", "mode"))
    assert modes == {1: "off", 2: "champion"}
    assert lineup_for("routing").champion.model_name == "local:routing:v2"


def test_checksum_mismatch_falls_back_to_the_rules_with_a_reason(routing_version):
    # given a champion whose artifact was altered on disk after training
    model_version_mode_set(version=routing_version, mode="champion")
    path = artifact_resolve(routing_version.artifact_path)
    path.write_bytes(path.read_bytes() + b"tampered")
    # when it is asked to decide
    result = routing_decide({"NumberOfEmployees": "about 50", "Country": "Untied States"})
    # then the rules decide and the decision says why
    assert (result.status, result.decided_by, result.output["segment"]) == (
        "fallback",
        "fallback",
        "UNKNOWN",
    )
    assert result.reason.startswith("model: ArtifactError: checksum mismatch")


def test_shadow_is_logged_beside_the_champion_but_never_written_to_salesforce(
    routing_version, loaded_policy, settings
):
    settings.SF_INTEGRATION_USER_ID = INTEGRATION
    # given the model in shadow and no LLM: the champion sends ambiguous leads to the queue
    model_version_mode_set(version=routing_version, mode="shadow")
    event = lead_event(NumberOfEmployees="around 400", Country="Frnace", OwnerId=INTEGRATION)
    client = FakeClient()
    # when the lead is routed
    leads_route(events=[event], client=client, now=WORKDAY)
    # then Salesforce got the champion's owner (the fallback queue), not the shadow's choice
    assignment = Assignment.objects.get()
    assert client.written == {event.record_id: TRIAGE} == {assignment.lead_id: assignment.owner_id}
    champion = Decision.objects.get(workload="routing", subject_id=event.record_id)
    assert (champion.decider, champion.effect["owner_written"]) == ("fallback", TRIAGE)
    # and the shadow's answer is a row of its own, linked to the champion's and never acted on
    shadow = Decision.objects.get(workload="routing.shadow")
    assert (shadow.output["segment"], shadow.output["region"]) == ("MM", "EMEA")
    assert shadow.effect == {"shadow_of": champion.pk, "acted": False}
    assert (shadow.subject_id, shadow.model_name) == (event.record_id, "local:routing:v1")
    assert assignment.decision_id == champion.pk


def test_shadow_never_sends_the_template_it_would_have_chosen(
    templates_loaded, llm_unreachable, settings
):
    # given a shadow model trained to call every inquiry "pricing", whose template auto-sends
    pricing = templates_loaded["pricing"]
    pricing.auto_send, pricing.auto_send_threshold = True, 0.0
    pricing.save()
    rows = [(text, "pricing" if n % 2 else "demo") for n, text in enumerate(["Hi"] * 60)]
    templates_labelled(templates_loaded, rows=rows)
    version = model_train(workload="templates", min_labels=50).version
    model_version_mode_set(version=version, mode="shadow")
    shadow_says = lineup_for("templates").challenger({"Description": "Hi"}, [])
    lead = {"Id": lead_id(), "Description": "Hello, I want to learn more.", "Email": "a@b.test"}
    # when the lead gets its suggestion and auto-send runs
    created = suggestions_create(leads=[lead])
    sent = suggestions_auto_send(suggestions=created, leads={lead["Id"]: lead}, client=None)
    # then the champion's (general) template was suggested and nothing was sent
    assert shadow_says.output["intent"] in {"pricing", "demo"}
    assert [(s.intent, s.status) for s in created] == [("general", SuggestionStatus.SUGGESTED)]
    assert sent == 0
    shadow = Decision.objects.get(workload="templates.shadow", subject_id=lead["Id"])
    assert shadow.output["intent"] in {"pricing", "demo"}
    assert shadow.effect["acted"] is False
    assert created[0].decision_id == shadow.effect["shadow_of"]


def test_a_failing_shadow_leaves_the_champion_untouched(routing_version):
    model_version_mode_set(version=routing_version, mode="shadow")
    artifact_resolve(routing_version.artifact_path).write_bytes(b"not a model")

    result = routing_decide({"NumberOfEmployees": "about 50", "Country": "Untied States"})

    assert (result.decided_by, result.output["segment"]) == ("fallback", "UNKNOWN")
    shadow = Decision.objects.get(workload="routing.shadow")
    assert shadow.status == "error" and "checksum mismatch" in shadow.reason


def test_ab_split_is_close_to_its_share_and_sticky_per_subject():
    # given a lineup that sends 10% of subjects to the challenger
    def champion(context, messages):
        return ModelAnswer({}, 1.0, "", "champion")

    def challenger(context, messages):
        return ModelAnswer({}, 1.0, "", "challenger")

    lineup = Lineup(champion=champion, challenger=challenger, challenger_mode="ab", ab_share=0.1)
    subjects = [f"00Q5f{n:010d}AAA" for n in range(1000)]
    # when each subject is assigned twice
    first = [lineup.decider_for_subject(workload="templates", subject_id=s) for s in subjects]
    again = [lineup.decider_for_subject(workload="templates", subject_id=s) for s in subjects]
    # then about 10% go to the challenger, always the same ones
    share = sum(d is challenger for d in first) / len(subjects)
    print(f"\nA/B share over 1,000 subjects: {share:.1%} (target 10%)")
    assert 0.08 <= share <= 0.12
    assert first == again
    assert lineup.decider_for_subject(workload="templates", subject_id="") is champion


def test_ab_through_the_gateway_decides_exactly_the_subjects_in_the_share(routing_version):
    # given the model in A/B at 30% against the fallback champion
    model_version_mode_set(version=routing_version, mode="ab", ab_share=0.3)
    subjects = [lead_id() for _ in range(60)]
    # when each subject is decided twice
    lead = {"NumberOfEmployees": "ca. 800", "Country": "Brasil."}
    results = [routing_decide(lead, subject=s) for s in subjects + subjects]
    # then the model decided exactly the subjects whose bucket is under the share, both times
    expected = {s for s in subjects if ab_bucket(workload="routing", subject_id=s) < 0.3}
    by_model = [
        s for s, r in zip(subjects + subjects, results, strict=True) if r.decided_by == "model"
    ]
    assert set(by_model) == expected and len(by_model) == 2 * len(expected)
    assert 0 < len(expected) < 60
    assert not Decision.objects.filter(workload="routing.shadow").exists()


def test_shadow_figures_give_agreement_and_accuracy_against_later_labels(routing_version):
    # given the model in shadow over three ambiguous leads, two labelled later
    model_version_mode_set(version=routing_version, mode="shadow")
    results = [
        routing_decide({"NumberOfEmployees": "around 400", "Country": "Frnace"}) for _ in range(3)
    ]
    corrected = {"segment": "MM", "region": "EMEA", "reason": "reviewer"}
    label_record(
        decision_id=results[0].decision_id, verdict="incorrect", corrected_output=corrected
    )
    label_record(decision_id=results[1].decision_id, verdict="correct")
    # when the figures are read
    [figures] = shadow_figures(workload="routing")
    # then the shadow never agreed with the queue, and was right where the correction says so
    assert (figures.model_name, figures.shadowed, figures.errors) == ("local:routing:v1", 3, 0)
    assert figures.agreement == 0.0
    assert figures.labelled == 2
    assert (figures.shadow_accuracy, figures.champion_accuracy) == (0.5, 0.5)


def test_templates_decide_uses_a_promoted_model_when_the_workload_asks_for_one(
    templates_version, llm_unreachable
):
    model_version_mode_set(version=templates_version, mode="champion")

    result = templates_decide("Could we book a demo next week?", helpers_templates())

    assert (result.decided_by, result.output["intent"]) == ("model", "demo")
    assert result.output["template"] == "demo"


def helpers_templates():
    from templates_app.selectors import active_templates_by_intent

    return active_templates_by_intent()


def test_a_promoted_templates_model_answers_without_any_llm_key(templates_version, settings):
    # given no API key at all: before promotion the keyword rules decide
    settings.ANTHROPIC_API_KEY = ""
    before = templates_decide("Could we book a demo next week?", helpers_templates())
    # when the local model is promoted
    model_version_mode_set(version=templates_version, mode="champion")
    after = templates_decide("Could we book a demo next week?", helpers_templates())
    # then it answers, and no LLM fallback row says "no_api_key"
    assert before.decided_by == "rules"
    assert (after.decided_by, after.output["intent"]) == ("model", "demo")
    assert "no_api_key" not in after.reason
