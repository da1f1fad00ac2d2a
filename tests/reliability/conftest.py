"""Hypothesis profiles for the reliability suite: bounded in `make test`, long in `make soak`
(HYPOTHESIS_PROFILE=soak). Examples are drawn fresh each run; failures print their seed."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

# No shrinking: with database work and huge strings it can take minutes; the failing example and
# its seed are printed as found.
_COMMON = {
    "deadline": None,
    "phases": [Phase.explicit, Phase.reuse, Phase.generate],
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    "database": None,
}
settings.register_profile("reliability", max_examples=40, **_COMMON)
settings.register_profile("soak", max_examples=2000, **_COMMON)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "reliability")


def examples(count: int) -> settings:
    """``count`` examples per test normally; the soak profile's count scaled the same way."""
    scale = settings.get_profile(PROFILE).max_examples / 40
    return settings(settings.get_profile(PROFILE), max_examples=max(1, int(count * scale)))
