"""Rule-based intent detection on labelled inquiries (the fallback when no LLM answers)."""

import json
from pathlib import Path

from templates_app.intents import compile_keywords, detect, normalize
from tests.templates.labelled_inquiries import LABELLED

SEED = Path(__file__).resolve().parents[2] / "config" / "templates.json"


def seed_keywords() -> dict:
    data = json.loads(SEED.read_text())
    return compile_keywords({t["intent"]: t["keywords"] for t in data["templates"]})


def test_rules_fallback_accuracy_on_labelled_inquiries(capsys):
    compiled = seed_keywords()

    wrong = [(text, label, detect(text, compiled).intent) for text, label in LABELLED]
    wrong = [row for row in wrong if row[1] != row[2]]
    accuracy = 1 - len(wrong) / len(LABELLED)
    with capsys.disabled():
        print(f"\nintent rules accuracy: {accuracy:.1%} on {len(LABELLED)} labelled inquiries")

    assert len(LABELLED) >= 70
    assert accuracy >= 0.85, wrong


def test_empty_text_is_general_with_low_confidence():
    guess = detect("", seed_keywords())

    assert guess.intent == "general"
    assert guess.confidence <= 0.3


def test_confidence_is_higher_for_clear_text_than_for_mixed_text():
    compiled = seed_keywords()

    clear = detect("Please send a quote with your pricing per seat", compiled)
    mixed = detect("pricing and also a demo please", compiled)

    assert clear.intent == "pricing"
    assert clear.confidence > mixed.confidence


def test_normalize_removes_accents_case_and_punctuation():
    assert normalize("Démonstration, SVP!") == " demonstration svp "
