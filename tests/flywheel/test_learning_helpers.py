"""Fixtures and builders shared by the learning-loop tests (labelled decisions, clean caches)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from flywheel.gateway import Rules, decide
from flywheel.learning.serving import serving_cache_clear
from flywheel.services import label_record
from routing.prompt import OUTPUT_SCHEMA as ROUTING_SCHEMA
from templates_app.selectors import active_templates_by_intent
from templates_app.services import template_choose, templates_load_file
from tests.templates.labelled_inquiries import LABELLED

SEED = Path(__file__).resolve().parents[2] / "config" / "templates.json"
_numbers = itertools.count(1)

# Ambiguous routing leads: (raw fields, true segment, true region). The rules cannot settle them
# (non-numeric head counts, unknown country spellings) and send them to the fallback queue.
ROUTING_SHAPES = [
    ({"NumberOfEmployees": "about 50", "Country": "Untied States"}, "SMB", "NA"),
    ({"NumberOfEmployees": "approx. 120", "Country": "Deutschlandd"}, "SMB", "EMEA"),
    ({"NumberOfEmployees": "around 400", "Country": "Frnace"}, "MM", "EMEA"),
    ({"NumberOfEmployees": "600 people", "Country": "Japn"}, "MM", "APAC"),
    ({"NumberOfEmployees": "5k", "Country": "Brasil."}, "ENT", "LATAM"),
    ({"NumberOfEmployees": "2,500+", "Country": "Untied States"}, "ENT", "NA"),
    ({"NumberOfEmployees": "15 staff", "Country": "Japn"}, "SMB", "APAC"),
    ({"NumberOfEmployees": "ca. 800", "Country": "Brasil."}, "MM", "LATAM"),
]


def lead_id() -> str:
    return f"00Q9f{next(_numbers):010d}AAA"


@pytest.fixture(autouse=True)
def _clean_serving(settings, tmp_path):
    """Artifacts in a fresh directory; no lineup or model cached across tests."""
    settings.FLYWHEEL_MODEL_DIR = str(tmp_path / "models")
    serving_cache_clear(artifacts=True)
    yield
    serving_cache_clear(artifacts=True)


@pytest.fixture
def templates_loaded(db):
    templates_load_file(SEED)
    return active_templates_by_intent()


def templates_decide(text: str, templates: dict, *, subject: str | None = None):
    context = {"Id": subject or lead_id(), "Description": text}
    return template_choose(context=context, templates=templates)


def templates_labelled(templates: dict, rows=LABELLED) -> list[int]:
    """Decide every inquiry with the rules, then label it: correct, or corrected to the truth."""
    ids = []
    for text, intent in rows:
        result = templates_decide(text, templates)
        if result.output["intent"] == intent:
            label_record(decision_id=result.decision_id, verdict="correct")
        else:
            corrected = {
                "intent": intent,
                "template": templates[intent].name,
                "confidence": 1.0,
                "reason": "reviewer",
            }
            label_record(
                decision_id=result.decision_id, verdict="incorrect", corrected_output=corrected
            )
        ids.append(result.decision_id)
    return ids


def routing_context(fields: dict) -> dict:
    problems = [f"non-numeric employee count {fields['NumberOfEmployees']!r}"]
    problems.append(f"unknown country {fields['Country']!r}")
    return {
        "lead": {"Company": "Acme", **fields},
        "rules": {"segment": "UNKNOWN", "region": "UNKNOWN", "country": None, "problems": problems},
    }


def fallback_rules(_context: dict) -> Rules:
    output = {"segment": "UNKNOWN", "region": "UNKNOWN", "reason": "ambiguous: fallback queue"}
    return Rules(output=output, confidence=0.3, explanation="ambiguous: fallback queue")


def routing_decide(fields: dict, *, subject: str | None = None):
    context = routing_context(fields)
    return decide(
        workload="routing",
        subject_id=subject or lead_id(),
        context=context,
        messages=[{"role": "user", "content": str(context)}],
        prompt_version="routing-v1",
        output_schema=ROUTING_SCHEMA,
        rules=fallback_rules,
        use_llm=True,
    )


def routing_labelled(repeats: int = 8) -> list[int]:
    """Ambiguous leads the rules sent to the fallback queue, corrected by a reviewer."""
    ids = []
    for _ in range(repeats):
        for fields, segment, region in ROUTING_SHAPES:
            result = routing_decide(fields)
            corrected = {"segment": segment, "region": region, "reason": "reviewer"}
            label_record(
                decision_id=result.decision_id, verdict="incorrect", corrected_output=corrected
            )
            ids.append(result.decision_id)
    return ids
