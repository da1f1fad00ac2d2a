"""Agreement statistics (pure functions; the selectors feed them labels)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Kappa:
    items: int
    observed: float
    expected: float
    kappa: float | None  # None when undefined (no items, or both raters used one category only)


def cohen_kappa(pairs: Sequence[tuple[str, str]]) -> Kappa:
    """Cohen's kappa for two raters; ``pairs`` holds (rater A's category, rater B's) per item."""
    items = len(pairs)
    if not items:
        return Kappa(items=0, observed=0.0, expected=0.0, kappa=None)
    observed = sum(a == b for a, b in pairs) / items
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(first[c] * second[c] for c in first.keys() | second.keys()) / items**2
    if expected == 1:
        return Kappa(items=items, observed=observed, expected=expected, kappa=None)
    return Kappa(
        items=items,
        observed=observed,
        expected=expected,
        kappa=(observed - expected) / (1 - expected),
    )
