"""The LLM decider: one Anthropic Messages call with a forced tool for structured output."""

from __future__ import annotations

import functools
import ssl
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from flywheel import conf
from flywheel.schema import schema_errors

if TYPE_CHECKING:  # the SDK takes seconds to import: workers without a key never load it
    import anthropic

TOOL_NAME = "record_decision"


class LlmFailure(Exception):
    """The LLM gave no usable answer; ``reason`` is a short, secret-free code and detail."""

    def __init__(
        self, reason: str, *, latency_ms: float = 0.0, usage: tuple[int, int] | None = None
    ):
        super().__init__(reason)
        self.reason = reason
        self.latency_ms = latency_ms
        self.usage = usage


@dataclass(frozen=True, slots=True)
class LlmAnswer:
    output: dict
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal | None
    latency_ms: float


def llm_decide(*, messages: list[dict], output_schema: dict) -> LlmAnswer:
    """Ask the configured model; raise ``LlmFailure`` on anything but a schema-valid tool answer."""
    key = conf.api_key()
    if not key:
        raise LlmFailure("no_api_key: ANTHROPIC_API_KEY is not set")
    import anthropic

    client = _client(
        key, conf.base_url(), conf.ca_bundle(), conf.llm_timeout(), conf.llm_max_retries()
    )
    model = conf.llm_model()
    system = "\n\n".join(m["content"] for m in messages if m.get("role") == "system")
    turns = [m for m in messages if m.get("role") in ("user", "assistant")]
    started = time.perf_counter()
    try:
        message = client.messages.create(
            model=model,
            max_tokens=conf.llm_max_tokens(),
            system=system or anthropic.NOT_GIVEN,
            messages=turns,
            tools=[
                {
                    "name": TOOL_NAME,
                    "description": "Record the decision. Always answer through this tool.",
                    "input_schema": output_schema,
                }
            ],
            tool_choice={"type": "tool", "name": TOOL_NAME},
        )
    except anthropic.APIError as error:
        raise LlmFailure(_error_reason(error), latency_ms=_since(started)) from None
    latency = _since(started)
    usage = (message.usage.input_tokens, message.usage.output_tokens)
    output = next(
        (b.input for b in message.content if b.type == "tool_use" and b.name == TOOL_NAME), None
    )
    if not isinstance(output, dict):
        raise LlmFailure(
            f"malformed: no {TOOL_NAME} tool answer (stop_reason {message.stop_reason})",
            latency_ms=latency,
            usage=usage,
        )
    errors = schema_errors(output, output_schema)
    if errors:
        raise LlmFailure(f"schema: {'; '.join(errors)}"[:400], latency_ms=latency, usage=usage)
    return LlmAnswer(
        output=output,
        model=model,
        input_tokens=usage[0],
        output_tokens=usage[1],
        cost_usd=conf.llm_cost(model=model, input_tokens=usage[0], output_tokens=usage[1]),
        latency_ms=latency,
    )


@functools.lru_cache(maxsize=4)
def _client(
    key: str, base_url: str | None, ca_bundle: str, timeout: float, max_retries: int
) -> anthropic.Anthropic:
    """One SDK client (and connection pool) per configuration."""
    import anthropic

    http_client = None
    if ca_bundle:
        verify = ssl.create_default_context(cafile=ca_bundle)
        http_client = anthropic.DefaultHttpxClient(verify=verify)
    return anthropic.Anthropic(
        api_key=key,
        base_url=base_url,
        timeout=timeout,
        max_retries=max_retries,
        http_client=http_client,
    )


def _error_reason(error: anthropic.APIError) -> str:
    import anthropic

    if isinstance(error, anthropic.APITimeoutError):
        return "timeout"
    if isinstance(error, anthropic.APIConnectionError):
        return "connection_error"
    if isinstance(error, anthropic.RateLimitError):
        return "rate_limited (429)"
    if isinstance(error, anthropic.OverloadedError):
        return "overloaded (529)"
    if isinstance(error, anthropic.APIStatusError):
        return f"api_error ({error.status_code})"
    if isinstance(error, anthropic.APIResponseValidationError):
        return "malformed: response did not validate"
    return f"api_error ({type(error).__name__})"


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
