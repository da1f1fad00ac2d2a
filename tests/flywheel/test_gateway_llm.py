"""The LLM decider through the real SDK: request shape, structured answers, every failure kind."""

from __future__ import annotations

import json
import socket
from decimal import Decimal

import pytest
from django.forms.models import model_to_dict

from flywheel.deciders import ModelAnswer, decider_register, decider_unregister
from flywheel.gateway import Rules
from flywheel.models import Decision
from tests.flywheel.conftest import RULES_OUTPUT
from tests.flywheel.fake_messages import fake_messages_server, message

pytestmark = pytest.mark.django_db
API_KEY = "sk-ant-api03-TESTKEY0123456789abcdefghijklmnop"
GOOD = {"segment": "MM", "owner_id": None, "confidence": 0.72, "reason": "about 400 staff"}


@pytest.fixture
def fake(settings):
    with fake_messages_server() as server:
        settings.ANTHROPIC_API_KEY = API_KEY
        settings.ANTHROPIC_BASE_URL = server.url
        settings.SF_CA_BUNDLE = ""
        settings.LLM_MODEL = "claude-haiku-4-5"
        settings.LLM_MAX_RETRIES = 0
        settings.LLM_TIMEOUT_SECONDS = 5
        yield server


def test_llm_answer_is_recorded_with_tokens_cost_and_the_forced_tool(fake, decide_case):
    # given the model answers through the tool
    fake.tool_answer(GOOD)
    # when a case needs the LLM
    result = decide_case(use_llm=True)
    # then the LLM's output is used and everything about the call is on the row
    decision = Decision.objects.get()
    assert (result.decided_by, result.status, result.output) == ("llm", "ok", GOOD)
    assert (decision.model_name, decision.input_tokens, decision.output_tokens) == (
        "claude-haiku-4-5",
        120,
        30,
    )
    assert decision.cost_usd == Decimal("0.000270")  # 120 x $1/M + 30 x $5/M
    assert decision.confidence == 0.72 and decision.explanation == "about 400 staff"
    assert json.loads(decision.conversation["messages"][-1]["content"]) == GOOD
    assert decision.latency_ms > 0
    # and the request forced the tool, with the system prompt at the top level
    body = fake.requests[0]["body"]
    assert body["tool_choice"] == {"type": "tool", "name": "record_decision"}
    assert body["tools"][0]["input_schema"] == decision.output_schema
    assert body["system"] == "You route leads."
    assert [m["role"] for m in body["messages"]] == ["user"]


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (429, {"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}}, "429"),
        (529, {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}, "529"),
        (500, {"type": "error", "error": {"type": "api_error", "message": "boom"}}, "500"),
        (401, {"type": "error", "error": {"type": "authentication_error", "message": "no"}}, "401"),
        (200, message([{"type": "text", "text": "It is SMB."}]), "malformed"),
        (
            200,
            message([{"type": "tool_use", "id": "t", "name": "other", "input": GOOD}]),
            "malformed",
        ),
    ],
)
def test_llm_failures_fall_back_to_the_rules_and_say_why(fake, decide_case, status, body, reason):
    # given the API fails in one of its ways
    fake.reply(status, body)
    # when a case needs the LLM
    result = decide_case(use_llm=True)
    # then the rules decide, and the row says it was a fallback and why
    assert (result.decided_by, result.status, result.output) == (
        "fallback",
        "fallback",
        RULES_OUTPUT,
    )
    decision = Decision.objects.get()
    assert decision.reason.startswith("llm: ") and reason in decision.reason
    assert decision.decider == "fallback" and decision.model_name == "claude-haiku-4-5"


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ({**GOOD, "segment": "HUGE"}, "'HUGE' is not one of"),
        ({"owner_id": None, "reason": "x"}, "'segment' is required"),
        ({**GOOD, "confidence": 1.5}, "above the maximum"),
        ({**GOOD, "reason": "x" * 201}, "longer than 200"),
        ({**GOOD, "extra": 1}, "unexpected property 'extra'"),
        ({**GOOD, "owner_id": 5}, "expected string or null"),
    ],
)
def test_schema_violations_are_caught_and_fall_back(fake, decide_case, answer, problem):
    fake.tool_answer(answer)
    result = decide_case(use_llm=True)
    decision = Decision.objects.get()
    assert result.output == RULES_OUTPUT and result.status == "fallback"
    assert decision.reason.startswith("llm: schema:") and problem in decision.reason
    # a rejected answer still cost tokens
    assert (decision.input_tokens, decision.output_tokens) == (120, 30)


def test_timeout_falls_back(settings, decide_case):
    # given an endpoint that accepts the connection but never answers in time
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    settings.ANTHROPIC_API_KEY = API_KEY
    settings.ANTHROPIC_BASE_URL = f"http://127.0.0.1:{listener.getsockname()[1]}"
    settings.LLM_TIMEOUT_SECONDS = 0.2
    settings.LLM_MAX_RETRIES = 0
    settings.LLM_MODEL = "claude-haiku-4-5"
    try:
        result = decide_case(use_llm=True)
    finally:
        listener.close()
    assert result.status == "fallback" and result.reason == "llm: timeout"


def test_connection_refused_falls_back(settings, decide_case):
    settings.ANTHROPIC_API_KEY = API_KEY
    settings.ANTHROPIC_BASE_URL = "http://127.0.0.1:9"
    settings.LLM_MAX_RETRIES = 0
    settings.LLM_MODEL = "claude-haiku-4-5"
    result = decide_case(use_llm=True)
    assert result.status == "fallback" and result.reason == "llm: connection_error"


def test_without_an_api_key_the_rules_decide_and_no_call_is_made(fake, settings, decide_case):
    settings.ANTHROPIC_API_KEY = ""
    result = decide_case(use_llm=True)
    assert result.status == "fallback" and "no_api_key" in result.reason
    assert fake.requests == []


def test_retries_are_bounded(fake, settings, decide_case):
    # given one retry allowed and an API that is always overloaded
    settings.LLM_MAX_RETRIES = 1
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
    for _ in range(3):
        fake.reply(529, overloaded)
    # when deciding
    result = decide_case(use_llm=True)
    # then exactly two attempts were made before falling back
    assert len(fake.requests) == 2
    assert result.status == "fallback"


def test_no_api_key_is_ever_stored_in_a_decision(fake, decide_case):
    # given a success, an API error and a schema violation with the key configured
    fake.tool_answer(GOOD)
    fake.reply(
        401, {"type": "error", "error": {"type": "authentication_error", "message": API_KEY}}
    )
    fake.tool_answer({**GOOD, "reason": f"key is {API_KEY}"[:200]})
    for _ in range(3):
        decide_case(use_llm=True)
    # then the key reached the API as a header only, never a row
    headers = {k.lower(): v for k, v in fake.requests[0]["headers"].items()}
    assert API_KEY in (headers.get("x-api-key"), headers.get("authorization", "")[7:])
    rows = json.dumps([model_to_dict(d) for d in Decision.objects.all()], default=str)
    assert Decision.objects.count() == 3
    assert API_KEY not in rows and "TESTKEY0123" not in rows


def test_a_registered_local_model_replaces_the_llm(fake, decide_case):
    # given a local model registered for the workload
    def model(context, messages):
        return ModelAnswer(output=GOOD, confidence=0.66, explanation="tree", model_name="rf-v2")

    decider_register(workload="routing", decider=model)
    try:
        result = decide_case(use_llm=True)
    finally:
        decider_unregister(workload="routing")
    # then it decides and no LLM call is made
    assert (result.decided_by, result.output, result.confidence) == ("model", GOOD, 0.66)
    assert Decision.objects.get().model_name == "rf-v2"
    assert fake.requests == []


@pytest.mark.parametrize(
    "model_output", [None, {"segment": "HUGE", "reason": "bad"}], ids=["raises", "invalid"]
)
def test_a_failing_local_model_falls_back_to_the_rules(decide_case, model_output):
    def model(context, messages):
        if model_output is None:
            raise RuntimeError("model file missing")
        return ModelAnswer(output=model_output, confidence=0.9, explanation="", model_name="rf")

    decider_register(workload="routing", decider=model)
    try:
        result = decide_case(use_llm=True)
    finally:
        decider_unregister(workload="routing")
    assert (result.status, result.output) == ("fallback", RULES_OUTPUT)
    assert result.reason.startswith("model")


def test_a_rules_explanation_quoting_the_api_key_is_masked(fake, decide_case):
    # given rules whose explanation quotes lead text that happens to hold the key
    def leaky_rules(_context):
        return Rules(output=dict(GOOD), confidence=0.9, explanation=f"lead wrote {API_KEY}")

    # when the rules decide
    decide_case(rules=leaky_rules)
    # then the stored explanation has the key masked
    stored = Decision.objects.get()
    assert API_KEY not in stored.explanation and stored.explanation.startswith("lead wrote ")


LOCAL = {"segment": "ENT", "owner_id": None, "confidence": 0.55, "reason": "local guess"}


@pytest.fixture
def unsure_local_model(settings):
    def model(context, messages):
        return ModelAnswer(output=LOCAL, confidence=0.55, explanation="tfidf", model_name="lr-v3")

    settings.FLYWHEEL_LOCAL_MIN_CONFIDENCE = 0.8
    decider_register(workload="routing", decider=model)
    yield
    decider_unregister(workload="routing")


def test_an_unsure_local_model_hands_the_case_to_the_llm(fake, decide_case, unsure_local_model):
    fake.tool_answer(GOOD)

    result = decide_case(use_llm=True)

    assert (result.decided_by, result.output) == ("llm", GOOD)
    assert "local model confidence 0.55 < 0.8" in result.reason and len(fake.requests) == 1


def test_when_the_llm_fails_the_unsure_local_answer_stands(fake, decide_case, unsure_local_model):
    fake.reply(500, {"type": "error", "error": {"type": "api_error", "message": "boom"}})

    result = decide_case(use_llm=True)

    assert (result.decided_by, result.output, result.status) == ("model", LOCAL, "ok")
    assert "local answer kept" in result.reason


def test_a_confident_local_model_or_no_key_never_calls_the_llm(
    fake, decide_case, unsure_local_model, settings
):
    settings.FLYWHEEL_LOCAL_MIN_CONFIDENCE = 0.5
    confident = decide_case(use_llm=True)
    settings.FLYWHEEL_LOCAL_MIN_CONFIDENCE, settings.ANTHROPIC_API_KEY = 0.8, ""
    keyless = decide_case(use_llm=True)

    assert confident.decided_by == keyless.decided_by == "model"
    assert fake.requests == []
