"""Serving: the "local" decider that answers from a ``ModelVersion`` artifact, and the lineup
(champion, challenger) the gateway asks for per workload.

Artifacts load once per process, after their checksum matches; lineups are re-read from the
database at most every FLYWHEEL_LINEUP_TTL_SECONDS (mode changes in this process apply at once).
Any failure raises, and the gateway falls back to the rules with the reason.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings

from flywheel.deciders import AB, SHADOW, Lineup, ModelAnswer, lineup_provider_register
from flywheel.learning.artifacts import artifact_load
from flywheel.learning.choices import LEARNING_WORKLOADS, ModelMode
from flywheel.models import ModelVersion

_LOCK = threading.Lock()
_PAYLOADS: dict[tuple[str, str], dict] = {}
_LINEUPS: dict[str, tuple[float, Lineup]] = {}


def lineup_ttl() -> float:
    return float(getattr(settings, "FLYWHEEL_LINEUP_TTL_SECONDS", 10.0))


class LocalDecider:
    """A ``ModelDecider`` backed by one model version's artifact."""

    def __init__(self, version: ModelVersion) -> None:
        self.workload = version.workload
        self.model_name = version.name
        self.artifact_path = version.artifact_path
        self.sha256 = version.sha256

    def __call__(self, context: dict, messages: list[dict]) -> ModelAnswer:
        from flywheel.learning.specs import predict, spec_get  # scikit-learn: only when serving

        spec = spec_get(self.workload)
        payload = self._payload()
        prediction = predict(
            spec=spec, pipelines=payload["pipelines"], inputs=[spec.inputs(context)]
        )[0]
        output = spec.answer(predictions=prediction, extras=payload["extras"], name=self.model_name)
        return ModelAnswer(
            output=output,
            confidence=float(output["confidence"]),
            explanation=str(output.get("reason", "")),
            model_name=self.model_name,
        )

    def _payload(self) -> dict:
        key = (self.artifact_path, self.sha256)
        payload = _PAYLOADS.get(key)
        if payload is None:
            payload = artifact_load(relative=self.artifact_path, sha256=self.sha256)
            with _LOCK:
                _PAYLOADS[key] = payload
        return payload


def lineup_provide(workload: str) -> Lineup:
    """The lineup for ``workload`` from the model versions' modes (cached for a few seconds)."""
    if workload not in LEARNING_WORKLOADS:
        return Lineup()
    now = time.monotonic()
    cached = _LINEUPS.get(workload)
    if cached is not None and cached[0] > now:
        return cached[1]
    lineup = _lineup_load(workload)
    with _LOCK:
        _LINEUPS[workload] = (now + lineup_ttl(), lineup)
    return lineup


def _lineup_load(workload: str) -> Lineup:
    versions = ModelVersion.objects.filter(workload=workload).exclude(mode=ModelMode.OFF)
    champion = challenger = None
    for version in versions:
        if version.mode == ModelMode.CHAMPION:
            champion = version
        else:
            challenger = version
    if challenger is None:
        return Lineup(champion=LocalDecider(champion) if champion else None)
    return Lineup(
        champion=LocalDecider(champion) if champion else None,
        challenger=LocalDecider(challenger),
        challenger_mode=SHADOW if challenger.mode == ModelMode.SHADOW else AB,
        ab_share=challenger.ab_share,
    )


def serving_cache_clear(*, artifacts: bool = False) -> None:
    """Forget cached lineups (after a mode change); ``artifacts`` also drops loaded models."""
    with _LOCK:
        _LINEUPS.clear()
        if artifacts:
            _PAYLOADS.clear()


def serving_install() -> None:
    lineup_provider_register(provider=lineup_provide)
