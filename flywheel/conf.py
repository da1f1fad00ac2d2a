"""Flywheel settings, read at call time so tests and deployments can override them."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings

# US dollars per million tokens (input, output). Override with the LLM_PRICES setting.
DEFAULT_MODEL = "claude-sonnet-5-5"
DEFAULT_PRICES: dict[str, dict[str, float]] = {
    "claude-sonnet-5-5": {"input": 2.0, "output": 10.0},
    "claude-sonnet-5": {"input": 2.0, "output": 10.0},
    "claude-opus-5-5": {"input": 4.0, "output": 20.0},
    "claude-opus-5": {"input": 5.0, "output": 25.0},
    "claude-haiku-5-5": {"input": 0.1, "output": 0.5},
    "claude-sonnet-4-6": {"input": 3.0, "output": 15.0},
    "claude-sonnet-4-5": {"input": 3.0, "output": 15.0},
    "claude-opus-4-5": {"input": 5.0, "output": 25.0},
    "claude-haiku-4-5": {"input": 1.0, "output": 5.0},
}


def api_key() -> str:
    return getattr(settings, "ANTHROPIC_API_KEY", "") or ""


def base_url() -> str | None:
    return getattr(settings, "ANTHROPIC_BASE_URL", "") or None


def ca_bundle() -> str:
    return getattr(settings, "SF_CA_BUNDLE", "") or ""


def llm_model() -> str:
    return getattr(settings, "LLM_MODEL", "") or DEFAULT_MODEL


def llm_timeout() -> float:
    """Seconds for one LLM call (each retry gets the same budget)."""
    return float(getattr(settings, "LLM_TIMEOUT_SECONDS", 20.0))


def llm_max_retries() -> int:
    return int(getattr(settings, "LLM_MAX_RETRIES", 1))


def llm_max_tokens() -> int:
    return int(getattr(settings, "LLM_MAX_TOKENS", 1024))


def llm_default_confidence() -> float:
    """Confidence given to an LLM answer whose schema has no ``confidence`` field."""
    return float(getattr(settings, "LLM_DEFAULT_CONFIDENCE", 0.8))


def llm_cost(*, model: str, input_tokens: int, output_tokens: int) -> Decimal | None:
    """Cost in US dollars from the price table; None for a model the table does not know."""
    prices = getattr(settings, "LLM_PRICES", None) or DEFAULT_PRICES
    price = prices.get(model)
    if price is None:
        return None
    total = (
        Decimal(str(price["input"])) * input_tokens + Decimal(str(price["output"])) * output_tokens
    )
    return (total / Decimal(1_000_000)).quantize(Decimal("0.000001"))


def review_high_confidence() -> float:
    """Bulk accept in the review queue only touches decisions at or above this confidence."""
    return float(getattr(settings, "FLYWHEEL_HIGH_CONFIDENCE", 0.9))


def local_min_confidence() -> float:
    """Local-model answers below this go to the LLM when a key is set (0: the model answers all)."""
    return float(getattr(settings, "FLYWHEEL_LOCAL_MIN_CONFIDENCE", 0.0))
