"""Small numeric helpers shared by the metric modules."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (linear interpolation), None for no values."""
    if not len(values):
        return None
    return round(float(np.percentile(np.asarray(values, dtype=float), q)), 3)


def rounded(value: object, digits: int = 2) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else round(number, digits)


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"
