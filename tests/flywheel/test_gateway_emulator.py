"""The gateway against the emulator's fake Anthropic API over HTTPS with the emulator's own CA."""

from __future__ import annotations

import pytest

from flywheel.models import Decision
from tests.flywheel.conftest import RULES_OUTPUT

pytestmark = [pytest.mark.django_db, pytest.mark.integration]
FAULTS_OFF = {"rate_429": 0, "rate_529": 0, "timeout_rate": 0, "malformed_rate": 0}


@pytest.fixture
def emulated_llm(emulator, settings):
    emulator.control(
        "POST",
        "/__emulator__/anthropic",
        json={**FAULTS_OFF, "latency_ms": 0, "reset_counts": True},
    )
    settings.ANTHROPIC_API_KEY = "sk-ant-api03-emulated-key-0123456789"
    settings.ANTHROPIC_BASE_URL = emulator.url
    settings.SF_CA_BUNDLE = str(emulator.ca_bundle)
    settings.LLM_MODEL = "claude-haiku-4-5"
    settings.LLM_MAX_RETRIES = 0
    settings.LLM_TIMEOUT_SECONDS = 0.5
    yield emulator
    emulator.control("POST", "/__emulator__/anthropic", json={**FAULTS_OFF, "latency_ms": 300})


def test_llm_decides_over_https_with_the_configured_ca(emulated_llm, decide_case):
    result = decide_case(use_llm=True)
    decision = Decision.objects.get()
    assert (result.decided_by, result.status) == ("llm", "ok")
    assert decision.input_tokens > 0 and decision.cost_usd > 0
    counts = emulated_llm.control("GET", "/__emulator__/anthropic").json()["counts"]
    assert counts["ok"] == 1


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ({"rate_429": 1}, ("llm: rate_limited (429)",)),
        ({"rate_529": 1}, ("llm: overloaded (529)",)),
        ({"timeout_rate": 1, "hang_s": 2}, ("llm: timeout",)),
        ({"malformed_rate": 1}, ("llm: malformed", "llm: schema")),
    ],
    ids=["429", "529", "timeout", "malformed"],
)
def test_every_emulated_llm_fault_falls_back_to_the_rules(emulated_llm, decide_case, fault, reason):
    emulated_llm.control("POST", "/__emulator__/anthropic", json=fault)
    result = decide_case(use_llm=True)
    assert (result.decided_by, result.status, result.output) == (
        "fallback",
        "fallback",
        RULES_OUTPUT,
    )
    assert result.reason.startswith(reason)
    assert Decision.objects.count() == 1
