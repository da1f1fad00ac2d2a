"""Training: datasets from labelled decisions, held-out evaluation, comparison, artifacts."""

from __future__ import annotations

import pytest

from flywheel.learning.artifacts import artifact_load, artifact_resolve, file_sha256
from flywheel.learning.dataset import dataset_build
from flywheel.learning.specs import spec_get
from flywheel.learning.training import TrainingRefused, model_train
from flywheel.models import Decision, Label, ModelVersion
from tests.flywheel import test_learning_helpers as helpers
from tests.flywheel.test_learning_helpers import routing_labelled, templates_labelled
from tests.templates.labelled_inquiries import LABELLED

pytestmark = pytest.mark.django_db
_clean_serving = helpers._clean_serving
templates_loaded = helpers.templates_loaded


def test_training_refuses_below_the_minimum_of_labels(templates_loaded):
    # given ten labelled decisions
    templates_labelled(templates_loaded, rows=LABELLED[:10])
    # when training asks for fifty
    with pytest.raises(TrainingRefused) as refused:
        model_train(workload="templates", min_labels=50)
    # then it says how many there are and how many are needed, and saves nothing
    assert "Only 10 labelled templates decision(s)" in str(refused.value)
    assert "at least 50" in str(refused.value)
    assert not ModelVersion.objects.exists()


def test_model_matches_or_beats_the_keyword_rules_on_held_out_inquiries(templates_loaded, capsys):
    # given the labelled inquiries, decided by the keyword rules and labelled by a reviewer
    ids = templates_labelled(templates_loaded)
    # when a model trains on them
    report = model_train(workload="templates", min_labels=50)
    # then on the same held-out cases it does at least as well as the rules did
    rows = {row["decider"]: row for row in report.comparison}
    model, rules = rows["this version"], rows["recorded: rules"]
    with capsys.disabled():
        print(
            f"\nheld-out intent accuracy: local model {model['accuracy']:.1%}, keyword rules "
            f"{rules['accuracy']:.1%} on {model['n']} of {len(ids)} labelled inquiries"
        )
    assert model["n"] == rules["n"] == report.counts["held_out"] >= 15
    assert model["accuracy"] >= rules["accuracy"]
    assert report.metrics["accuracy"] >= 0.85
    assert set(report.metrics["targets"]["intent"]["per_class"]) <= set(templates_loaded)
    assert report.metrics["calibration"]["ece"] is not None
    # and the version records its training set and a verified artifact
    version = report.version
    snapshot = version.training_set
    assert sorted(snapshot["train_ids"] + snapshot["held_out_ids"]) == sorted(ids)
    assert not set(snapshot["train_ids"]) & set(snapshot["held_out_ids"])
    assert (version.workload, version.version, version.mode) == ("templates", 1, "off")
    assert file_sha256(artifact_resolve(version.artifact_path)) == version.sha256


def test_a_correction_wins_over_the_decision_output(templates_loaded):
    # given inquiries whose rules answer a reviewer corrected
    templates_labelled(templates_loaded)
    corrected = Label.objects.filter(verdict="incorrect").select_related("decision")
    assert corrected, "the keyword rules miss some labelled inquiries"
    # when the dataset is built
    dataset = dataset_build(spec=spec_get("templates"))
    truths = {example.decision_id: example.truth["intent"] for example in dataset.labelled}
    # then each corrected decision trains on the correction, not on what the rules said
    for label in corrected:
        assert truths[label.decision_id] == label.corrected_output["intent"]
        assert truths[label.decision_id] != label.decision.output["intent"]


def test_weak_labels_add_unlabelled_llm_answers_to_training_only(templates_loaded):
    # given labelled rules decisions and one unlabelled LLM decision
    templates_labelled(templates_loaded, rows=LABELLED[:20])
    llm = Decision.objects.create(
        workload="templates",
        decider="llm",
        prompt_version="templates-v1",
        context={"Description": "What would 12 seats cost us per year?"},
        output={"intent": "pricing", "template": "pricing", "confidence": 0.9, "reason": "x"},
    )
    # when the dataset is built with and without weak labels
    plain = dataset_build(spec=spec_get("templates"))
    weak = dataset_build(spec=spec_get("templates"), weak_labels=True)
    # then the LLM answer joins only when asked, at reduced weight
    assert [e.decision_id for e in plain.weak] == [] and plain.skipped["unlabelled"] == 1
    assert [(e.decision_id, e.weight) for e in weak.weak] == [(llm.pk, 0.5)]
    assert len(weak.labelled) == len(plain.labelled) == 20


def test_routing_model_settles_ambiguous_leads_the_rules_send_to_the_queue(capsys):
    # given ambiguous leads the rules could not settle, corrected by reviewers
    routing_labelled(repeats=8)
    # when a routing model trains on them
    report = model_train(workload="routing", min_labels=50)
    rows = {row["decider"]: row for row in report.comparison}
    with capsys.disabled():
        print(
            f"\nrouting held-out accuracy (segment and region): local model "
            f"{rows['this version']['accuracy']:.1%}, fallback rules "
            f"{rows['recorded: fallback']['accuracy']:.1%}"
        )
    # then it beats the fallback, which never knows segment or region
    assert rows["recorded: fallback"]["accuracy"] == 0.0
    assert rows["this version"]["accuracy"] >= 0.9
    assert set(report.metrics["targets"]) == {"segment", "region"}


def test_a_second_training_compares_with_the_current_champion(templates_loaded):
    # given a champion trained earlier
    templates_labelled(templates_loaded)
    first = model_train(workload="templates", min_labels=50, mode="off").version
    ModelVersion.objects.filter(pk=first.pk).update(mode="champion")
    # when training again, version numbers grow and the champion is re-run on the held-out set
    second = model_train(workload="templates", min_labels=50)
    assert second.version.version == 2
    champion_row = second.comparison[1]
    assert champion_row["decider"] == "local:templates:v1 (champion)"
    assert champion_row["n"] == second.counts["held_out"]


def test_the_artifact_reloads_after_a_restart(templates_loaded):
    # given a saved version
    templates_labelled(templates_loaded)
    version = model_train(workload="templates", min_labels=50).version
    # when a fresh process loads it (nothing cached), it answers as trained
    payload = artifact_load(relative=version.artifact_path, sha256=version.sha256)
    pipeline = payload["pipelines"]["intent"]
    assert list(pipeline.predict(["How much does it cost per seat? Need a quote."])) == ["pricing"]
    assert payload["extras"]["templates"]["pricing"] == templates_loaded["pricing"].name
