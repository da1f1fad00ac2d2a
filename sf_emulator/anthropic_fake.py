"""A fake Anthropic Messages API (``POST /v1/messages``) that answers from the ground truth.

For a lead it recognises (a Salesforce lead id in the prompt), tool-use answers fill ``segment``,
``region``, ``intent``/``template`` with the truth, right with probability ``accuracy``; for
anything else a plausible answer with low confidence. Faults (429, 529, hangs, malformed output)
and latency are set through ``POST /__emulator__/anthropic``.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import secrets
from collections import Counter
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from aiohttp import web

from sf_emulator.textgen import INTENTS, REGIONS, SEGMENTS

LEAD_ID = re.compile(r"\b00Q[0-9A-Za-z]{15}\b")
USER_ID = re.compile(r"\b005[0-9A-Za-z]{15}\b")
KEYED_USER_ID = re.compile(r'"(\w+)":\s*"(005[0-9A-Za-z]{15})"')
_TRUTH_KEYS = {"segment": "segment", "region": "region", "intent": "intent", "template": "intent"}
_CHOICES = {
    "segment": (*SEGMENTS, "UNKNOWN"),
    "region": (*REGIONS, "UNKNOWN"),
    "intent": INTENTS,
}
_KEYWORDS = {
    "pricing": ("price", "pricing", "cost", "quote", "preis", "tarif", "precio", "preço"),
    "demo": ("demo", "walkthrough", "trial"),
    "technical": ("sso", "saml", "api", "encrypt", "soc 2"),
    "integration": ("integrat", "connector", "sync", "webhook"),
    "partnership": ("partner", "reseller", "resell"),
    "support": ("customer", "kunde", "client", "broken", "log in", "login"),
}
_REASON_WORDS = ("reason", "explanation", "rationale", "justification")


@dataclass(frozen=True)
class LlmSettings:
    rate_429: float = 0.0
    rate_529: float = 0.0
    timeout_rate: float = 0.0
    malformed_rate: float = 0.0
    accuracy: float = 0.9
    latency_ms: float = 300.0
    hang_s: float = 30.0


class FakeAnthropic:
    def __init__(self, *, org: Any) -> None:
        self._org = org
        self._rnd = random.Random(org.seed)
        self.settings = LlmSettings()
        self.counts: Counter[str] = Counter()

    def reset(self) -> None:
        self.settings = LlmSettings()
        self.counts.clear()
        self._rnd = random.Random(self._org.seed)

    def configure(self, body: dict[str, Any]) -> None:
        """Apply control settings; raise ValueError on an unknown key or a bad value."""
        names = {field.name for field in fields(LlmSettings)}
        unknown = sorted(set(body) - names - {"reset_counts"})
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(unknown)}")
        changes = {key: value for key, value in body.items() if key in names}
        for key, value in changes.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{key} must be a non-negative number")
            if (key.endswith("rate") or key.startswith("rate") or key == "accuracy") and value > 1:
                raise ValueError(f"{key} must be between 0 and 1")
        self.settings = replace(self.settings, **{k: float(v) for k, v in changes.items()})
        if body.get("reset_counts"):
            self.counts.clear()

    async def messages(self, request: web.Request) -> web.Response:
        self.counts["requests"] += 1
        key = request.headers.get("x-api-key") or request.headers.get("authorization", "")
        if not key.strip():
            self.counts["401"] += 1
            return _error(401, "authentication_error", "x-api-key header is required")
        try:
            body = await request.json()
            _check_request(body)
        except (ValueError, json.JSONDecodeError) as error:
            self.counts["400"] += 1
            return _error(400, "invalid_request_error", str(error))
        settings, roll = self.settings, self._rnd.random()
        if roll < settings.rate_429:
            self.counts["429"] += 1
            return _error(
                429,
                "rate_limit_error",
                "Number of request tokens has exceeded your rate limit.",
                retry_after="1",
            )
        if roll < settings.rate_429 + settings.rate_529:
            self.counts["529"] += 1
            return _error(529, "overloaded_error", "Overloaded")
        if roll < settings.rate_429 + settings.rate_529 + settings.timeout_rate:
            self.counts["timeout"] += 1
            await asyncio.sleep(settings.hang_s)
            return _error(529, "overloaded_error", "Overloaded")
        await asyncio.sleep(settings.latency_ms / 1000 * self._rnd.uniform(0.6, 1.4))
        malformed = self._rnd.random() < settings.malformed_rate
        self.counts["malformed" if malformed else "ok"] += 1
        self.counts[f"model:{body['model']}"] += 1
        return web.json_response(self._answer(body=body, malformed=malformed))

    def _answer(self, *, body: dict[str, Any], malformed: bool) -> dict[str, Any]:
        prompt = _prompt_text(body)
        lead_ids = LEAD_ID.findall(prompt)
        truth = self._truth(lead_ids, prompt)
        self.counts["recognised" if truth else "unrecognised"] += 1
        tool = _chosen_tool(body)
        filled: dict[str, Any] | None = None
        if tool is not None:
            schema = tool.get("input_schema") or {}
            filled = self._fill(schema=schema, truth=truth, prompt=prompt)
            if malformed:
                filled = self._break(schema=schema, filled=filled)
        if tool is None or filled is None:
            text = _text_answer(truth)
            content: list[dict[str, Any]] = [{"type": "text", "text": text}]
            stop_reason, output = "end_turn", text
        else:
            tool_id = f"toolu_{secrets.token_hex(12)}"
            content = [{"type": "tool_use", "id": tool_id, "name": tool["name"], "input": filled}]
            stop_reason, output = "tool_use", json.dumps(filled)
        self.counts["input_tokens"] += (tokens_in := max(1, len(prompt) // 4))
        self.counts["output_tokens"] += (tokens_out := max(1, len(output) // 4))
        return {
            "id": f"msg_{secrets.token_hex(12)}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out},
        }

    def _truth(self, lead_ids: list[str], prompt: str) -> dict[str, Any] | None:
        """Truth of the first known lead id in the prompt, else of a lead the prompt quotes."""
        store = getattr(self._org, "truth", None)
        if store is None:
            return None
        for lead_id in lead_ids:
            found = store.truth_for(lead_id)
            if found:
                return found
        for lead in reversed(list(self._org.store.rows("Lead"))):
            if _quotes(prompt, lead.get("Company")) and _quotes(prompt, lead.get("Description")):
                found = store.truth_for(lead["Id"])
                if found:
                    return found
        return None

    def _fill(self, *, schema: dict[str, Any], truth: dict[str, Any] | None, prompt: str) -> dict:
        """Every property of an object schema, truth-driven where the name says what it is."""
        filled: dict[str, Any] = {}
        correct = True
        for name, prop in (schema.get("properties") or {}).items():
            topic = next((t for key, t in _TRUTH_KEYS.items() if key in name.lower()), None)
            if topic is None:
                continue
            value, right = self._topic_value(topic=topic, prop=prop, truth=truth, prompt=prompt)
            filled[name], correct = value, correct and right
        for name, prop in (schema.get("properties") or {}).items():
            if name in filled:
                continue
            lowered = name.lower()
            if "confidence" in lowered or lowered in ("score", "probability"):
                filled[name] = round(self._rnd.uniform(*_confidence_range(truth, correct)), 3)
            elif any(word in lowered for word in _REASON_WORDS) and prop.get("type") == "string":
                filled[name] = _reason(truth=truth, values=filled)
            elif "owner" in lowered or "user" in lowered:
                filled[name] = _user_from(prompt, prop)
            else:
                filled[name] = self._by_type(prop)
        return filled

    def _topic_value(
        self, *, topic: str, prop: dict[str, Any], truth: dict[str, Any] | None, prompt: str
    ) -> tuple[Any, bool]:
        options = [str(value) for value in prop.get("enum") or _CHOICES[topic]]
        if truth is None:
            guess = _keyword_intent(prompt) if topic == "intent" else None
            matched = _match(options, guess) if guess else None
            return matched or self._rnd.choice(options), False
        wanted = _match(options, str(truth.get(_TRUTH_KEYS[topic]) or ""))
        if wanted is not None and self._rnd.random() < self.settings.accuracy:
            return wanted, True
        wrong = [option for option in options if option != wanted] or options
        return self._rnd.choice(wrong), False

    def _by_type(self, prop: dict[str, Any]) -> Any:
        if prop.get("enum"):
            return self._rnd.choice(prop["enum"])
        kind = prop.get("type")
        if isinstance(kind, list):
            kind = None if "null" in kind else kind[0]
        if kind is None and "type" in prop:
            return None
        if kind in ("number", "integer"):
            low, high = prop.get("minimum", 0), prop.get("maximum", 1 if kind == "number" else 10)
            return round(self._rnd.uniform(low, high), 3) if kind == "number" else int(low)
        if kind == "boolean":
            return False
        if kind == "array":
            return []
        if kind == "object":
            return self._fill(schema=prop, truth=None, prompt="")
        return "n/a"

    def _break(self, *, schema: dict[str, Any], filled: dict[str, Any]) -> dict[str, Any] | None:
        """Output that violates the schema: a required property missing, a value outside its
        enum or type, or (None) no tool call at all."""
        properties = schema.get("properties") or {}
        required = [name for name in schema.get("required") or [] if name in filled]
        strict = [name for name in filled if _rejects_text(properties.get(name) or {})]
        ways = ["no_tool", *(["drop"] if required else []), *(["bad_value"] if strict else [])]
        way, broken = self._rnd.choice(ways), dict(filled)
        if way == "no_tool":
            return None
        if way == "drop":
            broken.pop(self._rnd.choice(required))
        else:
            broken[self._rnd.choice(strict)] = "???"
        return broken


def _check_request(body: object) -> None:
    if not isinstance(body, dict):
        raise ValueError("request body must be a JSON object")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise ValueError("model: Field required")
    if not isinstance(body.get("max_tokens"), int):
        raise ValueError("max_tokens: Field required")
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        raise ValueError("messages: at least one message is required")


def _prompt_text(body: dict[str, Any]) -> str:
    parts: list[str] = []

    def collect(content: object) -> None:
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            for block in content:
                if isinstance(block, dict):
                    collect(block.get("text") or block.get("content") or block.get("input"))
        elif isinstance(content, dict):
            parts.append(json.dumps(content))

    collect(body.get("system"))
    for message in body["messages"]:
        if isinstance(message, dict):
            collect(message.get("content"))
    return "\n".join(parts)


def _chosen_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    tools = [tool for tool in body.get("tools") or [] if isinstance(tool, dict)]
    choice = body.get("tool_choice") or {}
    if not tools or choice.get("type") == "none":
        return None
    if choice.get("type") == "tool":
        return next((tool for tool in tools if tool.get("name") == choice.get("name")), tools[0])
    return tools[0]


def _rejects_text(prop: dict[str, Any]) -> bool:
    """Whether an arbitrary string such as "???" breaks this property."""
    kind = prop.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    return bool(prop.get("enum")) or (kind is not None and "string" not in kinds)


def _quotes(prompt: str, value: object) -> bool:
    """Whether the prompt contains the start of ``value``, raw or JSON-escaped (or it is empty)."""
    if not isinstance(value, str) or not value:
        return True
    head = value[:60]
    forms = (head, json.dumps(head, ensure_ascii=False)[1:-1], json.dumps(head)[1:-1])
    return any(form in prompt for form in forms)


def _user_from(prompt: str, prop: dict[str, Any]) -> str | None:
    """A user the prompt offers as a candidate (not its present owner), else any user id in it,
    else null where the schema allows it."""
    candidates = [uid for key, uid in KEYED_USER_ID.findall(prompt) if "owner" not in key.lower()]
    found = candidates or USER_ID.findall(prompt)
    if found:
        return found[0]
    nullable = isinstance(prop.get("type"), list) and "null" in prop["type"]
    return None if nullable else "005000000000000AAA"


def _match(options: list[str], value: str) -> str | None:
    lowered = value.lower()
    for option in options:
        if option.lower() == lowered:
            return option
    return next((option for option in options if lowered and lowered in option.lower()), None)


def _keyword_intent(prompt: str) -> str:
    lowered = prompt.lower()
    for intent, words in _KEYWORDS.items():
        if any(word in lowered for word in words):
            return intent
    return "general"


def _confidence_range(truth: dict[str, Any] | None, correct: bool) -> tuple[float, float]:
    if truth is None:
        return 0.1, 0.4
    return (0.75, 0.98) if correct else (0.35, 0.7)


def _reason(*, truth: dict[str, Any] | None, values: dict[str, Any]) -> str:
    if truth is None:
        return "Little information in the lead; this is a guess."
    said = ", ".join(f"{key} {value}" for key, value in values.items())
    return f"Based on the company size, country and inquiry text: {said}."


def _text_answer(truth: dict[str, Any] | None) -> str:
    if truth is None:
        return "I could not find enough information about this lead to classify it."
    return (
        f"This lead looks like a {truth['segment']} company in {truth['region']} "
        f"with a {truth['intent']} inquiry."
    )


def _error(status: int, kind: str, message: str, retry_after: str | None = None) -> web.Response:
    headers = {"request-id": f"req_{secrets.token_hex(12)}"}
    if retry_after:
        headers["retry-after"] = retry_after
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return web.json_response(body, status=status, headers=headers)


def install(app: web.Application, org: Any) -> FakeAnthropic:
    fake = FakeAnthropic(org=org)
    org.anthropic = fake
    org.reset_hooks.append(fake.reset)

    async def control_post(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("expected a JSON object")
            fake.configure(body)
        except (ValueError, json.JSONDecodeError) as error:
            return web.json_response({"error": str(error)}, status=400)
        return web.json_response({"settings": asdict(fake.settings), "counts": dict(fake.counts)})

    async def control_get(request: web.Request) -> web.Response:
        return web.json_response({"settings": asdict(fake.settings), "counts": dict(fake.counts)})

    app.router.add_routes(
        [
            web.post("/v1/messages", fake.messages),
            web.post("/__emulator__/anthropic", control_post),
            web.get("/__emulator__/anthropic", control_get),
        ]
    )
    return fake
