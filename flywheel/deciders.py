"""Per-workload deciders that replace the LLM (local models from the learning loop).

A workload with a registered decider is served by it instead of the LLM; its failures fall back
to the rules like the LLM's do. Registration happens at app start-up (``AppConfig.ready``).

Beside that fixed registration, one lineup provider (the learning loop's serving module) may say
per workload which model is champion and which one is challenger: in shadow the challenger runs
beside the champion and is only logged; in A/B it decides a stable share of subjects.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from flywheel import conf

logger = logging.getLogger(__name__)

SHADOW = "shadow"
AB = "ab"


@dataclass(frozen=True, slots=True)
class ModelAnswer:
    output: dict
    confidence: float
    explanation: str
    model_name: str


# Called with (context, messages); returns an answer or raises to fall back to the rules.
ModelDecider = Callable[[dict, list[dict]], ModelAnswer]


@dataclass(frozen=True, slots=True)
class Lineup:
    """Who answers a workload's model-worthy cases (``use_llm=True``).

    ``champion`` None means the LLM. ``challenger_mode`` is ``"shadow"``, ``"ab"`` or empty.
    """

    champion: ModelDecider | None = None
    challenger: ModelDecider | None = None
    challenger_mode: str = ""
    ab_share: float = 0.0

    def decider_for_subject(self, *, workload: str, subject_id: str) -> ModelDecider | None:
        """The champion, or the challenger for the subjects an A/B split sends to it."""
        if (
            self.challenger_mode == AB
            and self.challenger is not None
            and ab_bucket(workload=workload, subject_id=subject_id) < self.ab_share
        ):
            return self.challenger
        return self.champion

    @property
    def shadow(self) -> ModelDecider | None:
        return self.challenger if self.challenger_mode == SHADOW else None


LineupProvider = Callable[[str], Lineup]

_DECIDERS: dict[str, ModelDecider] = {}
_PROVIDERS: list[LineupProvider] = []


def decider_register(*, workload: str, decider: ModelDecider) -> None:
    _DECIDERS[workload] = decider


def decider_unregister(*, workload: str) -> None:
    _DECIDERS.pop(workload, None)


def decider_for(workload: str) -> ModelDecider | None:
    return _DECIDERS.get(workload)


def lineup_provider_register(*, provider: LineupProvider) -> None:
    """Install the provider of champion and challenger per workload (once, at start-up)."""
    if provider not in _PROVIDERS:
        _PROVIDERS.append(provider)


def lineup_for(workload: str) -> Lineup:
    """The provider's lineup; a fixed registration takes the champion's seat. A failing provider
    leaves the workload on the LLM (logged), never breaks a decision."""
    lineup = Lineup()
    for provider in _PROVIDERS:
        try:
            lineup = provider(workload)
        except Exception:  # serving must never break deciding
            logger.exception("lineup provider failed for %s; the LLM decides", workload)
            lineup = Lineup()
    fixed = _DECIDERS.get(workload)
    return replace(lineup, champion=fixed) if fixed is not None else lineup


def model_available(workload: str) -> bool:
    """True when a model could answer this workload's cases: a local model in its lineup, or
    the LLM (an API key is set). Callers skip asking when nothing but the rules could answer."""
    lineup = lineup_for(workload)
    if lineup.champion is not None or lineup.challenger is not None:
        return True
    return bool(conf.api_key())


def ab_bucket(*, workload: str, subject_id: str) -> float:
    """A stable number in [0, 1) per subject: the same lead always lands on the same side.
    Subjects without an id get 1.0 (always the champion)."""
    if not subject_id:
        return 1.0
    digest = hashlib.sha256(f"{workload}:{subject_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
