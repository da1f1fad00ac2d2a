"""The fake Anthropic Messages API, driven by the real ``anthropic`` SDK over HTTPS."""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Iterator

import anthropic
import httpx2
import pytest
import requests

from sf_emulator.testing import EmulatorProcess

MODEL = "claude-haiku-4-5"
SEGMENTS = ["SMB", "MM", "ENT", "UNKNOWN"]
REGIONS = ["NA", "EMEA", "APAC", "LATAM", "MEA", "UNKNOWN"]
INTENTS = ["pricing", "demo", "technical", "integration", "partnership", "support", "general"]
TOOL = {
    "name": "classify_lead",
    "description": "Classify an inbound lead.",
    "input_schema": {
        "type": "object",
        "properties": {
            "segment": {"type": "string", "enum": SEGMENTS},
            "region": {"type": "string", "enum": REGIONS},
            "intent": {"type": "string", "enum": INTENTS},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "reason": {"type": "string"},
        },
        "required": ["segment", "region", "intent", "confidence", "reason"],
    },
}


def schema_errors(schema: dict, value: dict) -> list[str]:
    """The ways ``value`` breaks a flat object schema (required, type, enum, bounds)."""
    errors = [f"missing {name}" for name in schema["required"] if name not in value]
    types = {"string": str, "number": (int, float)}
    for name, item in value.items():
        prop = schema["properties"].get(name)
        if prop is None:
            errors.append(f"unexpected {name}")
        elif not isinstance(item, types[prop["type"]]):
            errors.append(f"{name} has the wrong type")
        elif "enum" in prop and item not in prop["enum"]:
            errors.append(f"{name} not in enum")
        elif not prop.get("minimum", item) <= item <= prop.get("maximum", item):
            errors.append(f"{name} out of range")
    return errors


@pytest.fixture
def llm(fresh_org: EmulatorProcess) -> Iterator[EmulatorProcess]:
    assert fresh_org.control("POST", "/__emulator__/anthropic", json={"latency_ms": 0}).ok
    yield fresh_org


@pytest.fixture
def lead_truth(llm: EmulatorProcess) -> list[dict]:
    body = {"history_days": 1, "leads_per_day": 12, "seed": 9}
    assert llm.control("POST", "/__emulator__/traffic", json=body).status_code == 200
    records = llm.control("GET", "/__emulator__/truth").json()["records"]
    return [record for record in records if record["region"] != "UNKNOWN"][:6]


def client(emulator: EmulatorProcess, *, timeout: float = 10.0) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key="test",
        base_url=emulator.url,
        http_client=httpx2.Client(verify=ssl.create_default_context(cafile=emulator.ca_bundle)),
        max_retries=0,
        timeout=timeout,
    )


def classify(sdk: anthropic.Anthropic, lead_id: str) -> anthropic.types.Message:
    return sdk.messages.create(
        model=MODEL,
        max_tokens=512,
        system="You route inbound leads.",
        tools=[TOOL],
        tool_choice={"type": "tool", "name": "classify_lead"},
        messages=[
            {"role": "user", "content": f"Lead {lead_id}: Acme GmbH, 40 people, wants a demo"}
        ],
    )


def test_tool_answers_follow_the_schema_and_the_ground_truth(llm, lead_truth):
    llm.control("POST", "/__emulator__/anthropic", json={"accuracy": 1.0})
    sdk = client(llm)

    for truth in lead_truth:
        message = classify(sdk, truth["id"])

        assert message.type == "message" and message.role == "assistant"
        assert message.model == MODEL and message.stop_reason == "tool_use"
        [block] = message.content
        assert block.type == "tool_use" and block.name == "classify_lead"
        assert block.id.startswith("toolu_")
        assert schema_errors(TOOL["input_schema"], block.input) == []
        answer = {key: block.input[key] for key in ("segment", "region", "intent")}
        assert answer == {key: truth[key] for key in ("segment", "region", "intent")}
        assert block.input["confidence"] >= 0.75
        assert message.usage.input_tokens > 5 and message.usage.output_tokens > 5


def test_with_zero_accuracy_answers_stay_valid_but_are_wrong(llm, lead_truth):
    llm.control("POST", "/__emulator__/anthropic", json={"accuracy": 0.0})
    sdk = client(llm)

    for truth in lead_truth:
        answer = classify(sdk, truth["id"]).content[0].input

        assert schema_errors(TOOL["input_schema"], answer) == []
        assert answer["intent"] != truth["intent"] and answer["region"] != truth["region"]
        assert answer["confidence"] < 0.75


def test_an_unknown_lead_gets_a_plausible_low_confidence_answer(llm):
    answer = classify(client(llm), "00Q000000000000AAA").content[0].input

    assert schema_errors(TOOL["input_schema"], answer) == []
    assert answer["intent"] == "demo"  # read from the text itself
    assert answer["confidence"] <= 0.4


def test_without_tools_the_answer_is_text(llm):
    message = client(llm).messages.create(
        model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "Say hello"}]
    )

    assert message.stop_reason == "end_turn"
    assert message.content[0].type == "text" and message.content[0].text


def test_a_request_without_api_key_is_refused_like_anthropic_does(llm):
    response = requests.post(
        llm.url + "/v1/messages",
        json={"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]},
        verify=str(llm.ca_bundle),
        timeout=10,
    )

    assert response.status_code == 401
    assert response.json()["type"] == "error"
    assert response.json()["error"]["type"] == "authentication_error"


def test_rate_limit_fault_raises_rate_limit_error(llm, lead_truth):
    llm.control("POST", "/__emulator__/anthropic", json={"rate_429": 1.0})

    with pytest.raises(anthropic.RateLimitError) as raised:
        classify(client(llm), lead_truth[0]["id"])

    assert raised.value.status_code == 429
    assert raised.value.response.headers["retry-after"] == "1"


def test_overloaded_fault_raises_a_529_status_error(llm, lead_truth):
    llm.control("POST", "/__emulator__/anthropic", json={"rate_529": 1.0})

    with pytest.raises(anthropic.APIStatusError) as raised:
        classify(client(llm), lead_truth[0]["id"])

    assert isinstance(raised.value, anthropic.OverloadedError)
    assert raised.value.status_code == 529
    assert raised.value.body["error"]["type"] == "overloaded_error"


def test_timeout_fault_hangs_past_the_client_timeout(llm, lead_truth):
    llm.control("POST", "/__emulator__/anthropic", json={"timeout_rate": 1.0, "hang_s": 5})
    started = time.monotonic()

    with pytest.raises(anthropic.APITimeoutError):
        classify(client(llm, timeout=0.5), lead_truth[0]["id"])

    assert time.monotonic() - started < 3


def test_malformed_fault_breaks_the_schema_or_drops_the_tool_call(llm, lead_truth):
    llm.control("POST", "/__emulator__/anthropic", json={"malformed_rate": 1.0})
    sdk = client(llm)

    for _ in range(12):
        message = classify(sdk, lead_truth[0]["id"])
        tool_calls = [block for block in message.content if block.type == "tool_use"]
        assert not tool_calls or schema_errors(TOOL["input_schema"], tool_calls[0].input)


def test_latency_and_counts_are_reported(llm, lead_truth):
    llm.control("POST", "/__emulator__/anthropic", json={"latency_ms": 300, "reset_counts": True})
    sdk = client(llm)
    started = time.monotonic()

    classify(sdk, lead_truth[0]["id"])
    classify(sdk, "00Q000000000000AAA")

    assert time.monotonic() - started > 0.3
    counts = llm.control("GET", "/__emulator__/anthropic").json()["counts"]
    assert counts["requests"] == 2 and counts["ok"] == 2
    assert counts["recognised"] == 1 and counts["unrecognised"] == 1
    assert counts["input_tokens"] > 0


def test_bad_fault_settings_are_rejected(llm):
    response = llm.control("POST", "/__emulator__/anthropic", json={"rate_429": 2})

    assert response.status_code == 400
    assert "between 0 and 1" in response.json()["error"]


def test_a_lead_quoted_without_its_id_is_still_recognised(llm, lead_truth):
    llm.control("POST", "/__emulator__/anthropic", json={"accuracy": 1.0})
    truth = lead_truth[0]
    lead = llm.control("GET", f"/__emulator__/records/Lead/{truth['id']}").json()
    quoted = {"Company": lead["Company"], "Description": lead["Description"]}
    tool = {
        "name": "choose_template",
        "input_schema": {
            "type": "object",
            "properties": {
                "intent": {"type": "string", "enum": INTENTS},
                "template": {"type": "string", "enum": sorted(INTENTS)},
                "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            },
            "required": ["intent", "template", "confidence"],
        },
    }

    message = client(llm).messages.create(
        model=MODEL,
        max_tokens=256,
        tools=[tool],
        tool_choice={"type": "tool", "name": "choose_template"},
        messages=[{"role": "user", "content": "Lead:\n" + json.dumps(quoted, indent=1)}],
    )

    answer = message.content[0].input
    assert answer["intent"] == answer["template"] == truth["intent"]
    assert answer["confidence"] >= 0.75


def test_nullable_and_user_properties_get_plausible_values(llm, lead_truth):
    tool = {
        "name": "reassign",
        "input_schema": {
            "type": "object",
            "properties": {
                "owner_id": {"type": "string"},
                "pool": {"type": ["string", "null"]},
                "priority": {"type": "boolean"},
            },
            "required": ["owner_id"],
        },
    }
    context = {
        "lead_id": lead_truth[0]["id"],
        "next_pool_member": "0055f0000000007AAA",
        "owner_id": "0055f0000000006AAA",
    }

    message = client(llm).messages.create(
        model=MODEL,
        max_tokens=256,
        tools=[tool],
        tool_choice={"type": "tool", "name": "reassign"},
        messages=[{"role": "user", "content": json.dumps(context, sort_keys=True)}],
    )

    assert message.content[0].input == {
        "owner_id": "0055f0000000007AAA",
        "pool": None,
        "priority": False,
    }


def test_default_accuracy_is_about_ninety_percent(llm, lead_truth):
    # Given the default settings (the fixture only removes latency)
    settings = llm.control("GET", "/__emulator__/anthropic").json()["settings"]
    assert settings["accuracy"] == 0.9
    sdk = client(llm)

    # When every known lead is classified ten times
    right = total = 0
    for truth in lead_truth:
        for _ in range(10):
            answer = classify(sdk, truth["id"]).content[0].input
            right += sum(answer[key] == truth[key] for key in ("segment", "region", "intent"))
            total += 3

    # Then about nine answers in ten match the ground truth
    assert 0.8 <= right / total <= 0.98
