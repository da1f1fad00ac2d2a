"""Faults injected into the REST and OAuth endpoints on demand (control API)."""

from __future__ import annotations

import random
from dataclasses import dataclass

GROUPS = ("oauth", "query", "sobjects", "composite", "actions", "describe", "limits", "other")
ERROR_BODIES: dict[int, dict[str, str]] = {
    500: {
        "errorCode": "UNKNOWN_EXCEPTION",
        "message": "An unexpected error occurred. Please include this ErrorId if you contact "
        "support: 1234567890-12345 (-1234567890)",
    },
    503: {"errorCode": "SERVER_UNAVAILABLE", "message": "Server temporarily unavailable."},
}


@dataclass(frozen=True)
class ErrorFault:
    rate: float
    status: int


class Faults:
    """Error rates per endpoint group, added latency and dropped connections.

    A group key is one of GROUPS, ``rest`` (everything but oauth) or ``*`` (everything).
    """

    def __init__(self, *, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        self.clear()

    def clear(self) -> None:
        self.errors: dict[str, ErrorFault] = {}
        self.drops: dict[str, float] = {}
        self.latency_fixed_ms = 0
        self.latency_jitter_ms = 0

    def apply(self, payload: dict) -> None:
        """Merge fault settings from the control API; raise ValueError on a bad setting."""
        if payload.get("clear"):
            self.clear()
        for group, setting in _as_dict(payload.get("errors", {}), "errors").items():
            _check_group(group)
            setting = _as_dict(setting, f"errors.{group}")
            status = int(setting.get("status", 503))
            if status not in ERROR_BODIES:
                raise ValueError(f"errors.{group}.status must be 500 or 503")
            self.errors[group] = ErrorFault(_rate(setting.get("rate", 1.0)), status)
        drop = payload.get("drop_rate")
        if drop is not None:
            for group, rate in (drop if isinstance(drop, dict) else {"*": drop}).items():
                _check_group(group)
                self.drops[group] = _rate(rate)
        if "latency_ms" in payload:
            latency = payload["latency_ms"]
            latency = latency if isinstance(latency, dict) else {"fixed": latency}
            self.latency_fixed_ms = max(0, int(latency.get("fixed", 0)))
            self.latency_jitter_ms = max(0, int(latency.get("jitter", 0)))

    def error_for(self, group: str) -> int | None:
        """The status to fail this request with, or None."""
        for key in (group, "rest" if group != "oauth" else "", "*"):
            fault = self.errors.get(key)
            if fault and self._rng.random() < fault.rate:
                return fault.status
        return None

    def should_drop(self, group: str) -> bool:
        for key in (group, "rest" if group != "oauth" else "", "*"):
            rate = self.drops.get(key)
            if rate and self._rng.random() < rate:
                return True
        return False

    def delay_seconds(self, *, baseline_ms: int = 0) -> float:
        jitter = self._rng.uniform(0, self.latency_jitter_ms) if self.latency_jitter_ms else 0.0
        return (baseline_ms + self.latency_fixed_ms + jitter) / 1000

    def snapshot(self) -> dict[str, object]:
        return {
            "errors": {k: {"rate": v.rate, "status": v.status} for k, v in self.errors.items()},
            "drop_rate": dict(self.drops),
            "latency_ms": {"fixed": self.latency_fixed_ms, "jitter": self.latency_jitter_ms},
        }


def _as_dict(value: object, name: str) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be an object")
    return value


def _check_group(group: str) -> None:
    if group not in (*GROUPS, "rest", "*"):
        raise ValueError(
            f"unknown endpoint group {group!r}; use one of {', '.join(GROUPS)}, rest, *"
        )


def _rate(value: object) -> float:
    rate = float(value)  # type: ignore[arg-type]
    if not 0.0 <= rate <= 1.0:
        raise ValueError("rates must be between 0 and 1")
    return rate
