"""Per-workload deciders that replace the LLM (local models from the learning loop).

A workload with a registered decider is served by it instead of the LLM; its failures fall back
to the rules like the LLM's do. Registration happens at app start-up (``AppConfig.ready``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ModelAnswer:
    output: dict
    confidence: float
    explanation: str
    model_name: str


# Called with (context, messages); returns an answer or raises to fall back to the rules.
ModelDecider = Callable[[dict, list[dict]], ModelAnswer]

_DECIDERS: dict[str, ModelDecider] = {}


def decider_register(*, workload: str, decider: ModelDecider) -> None:
    _DECIDERS[workload] = decider


def decider_unregister(*, workload: str) -> None:
    _DECIDERS.pop(workload, None)


def decider_for(workload: str) -> ModelDecider | None:
    return _DECIDERS.get(workload)
