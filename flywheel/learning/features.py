"""Feature extraction the artifacts pickle (module-level, so a saved model reloads anywhere)."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

EMPTY_TEXT = "<empty>"
_BANDS = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
_NUMBER = re.compile(r"(\d[\d,. ]*)\s*(k|m)?\b", re.IGNORECASE)


def text_normalize(text: str) -> str:
    """Lower case, accents removed, punctuation as spaces; empty text becomes a token of its own."""
    decomposed = unicodedata.normalize("NFKD", str(text or "").casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(re.sub(r"[^\w]+", " ", plain).split()) or EMPTY_TEXT


class KeywordScores(BaseEstimator, TransformerMixin):
    """One column per intent: the weighted hits of its keywords (phrases weigh more), as a share
    of all hits, plus a column for "no keyword at all". ``keywords`` is a snapshot taken at
    training time, so the model keeps answering the same way when templates change later."""

    def __init__(self, keywords: Mapping[str, list[str]] | None = None) -> None:
        self.keywords = keywords

    def fit(self, texts: Iterable[str], y: object = None) -> KeywordScores:
        self.needles_ = {
            intent: [
                (f" {word} ", 1.0 + 0.5 * word.count(" "))
                for word in (text_normalize(raw) for raw in raws)
                if word != EMPTY_TEXT
            ]
            for intent, raws in sorted((self.keywords or {}).items())
        }
        return self

    def transform(self, texts: Iterable[str]) -> np.ndarray:
        rows = []
        for text in texts:
            haystack = f" {text_normalize(text)} "
            scores = [
                sum(weight * min(haystack.count(needle), 3) for needle, weight in needles)
                for needles in self.needles_.values()
            ]
            total = sum(scores)
            rows.append([score / (total or 1.0) for score in scores] + [float(total == 0)])
        return np.asarray(rows, dtype=float)


def employees_number(value: object) -> float | None:
    """A head count from a field that may say 'about 500', '1,200' or '2k'."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) if value >= 0 else None
    match = _NUMBER.search(str(value or ""))
    if not match:
        return None
    digits = re.sub(r"[,. ]", "", match.group(1))
    if not digits:
        return None
    factor = {"k": 1_000, "m": 1_000_000}.get((match.group(2) or "").lower(), 1)
    return float(digits) * factor


def _domain_suffix(value: object) -> str:
    host = str(value or "").rsplit("@", 1)[-1].strip().lower().rstrip("/")
    host = re.sub(r"^[a-z]+://", "", host).split("/", 1)[0]
    return host.rsplit(".", 1)[-1] if "." in host else ""


def _band(employees: float | None) -> str:
    """The head count's band (bounds on a 1-2-5 scale), so a linear model can learn thresholds."""
    if employees is None:
        return ""
    below = next((bound for bound in _BANDS if employees < bound), None)
    return f"<{below}" if below is not None else f">={_BANDS[-1]}"


def _plain(value: object) -> str:
    return text_normalize(str(value))[:40] if value not in (None, "") else ""


def routing_features(context: Mapping) -> dict[str, float | str]:
    """Tabular facts of a routing case: the lead's raw fields and what the rules made of them."""
    lead = context.get("lead") or {}
    rules = context.get("rules") or {}
    employees = employees_number(lead.get("NumberOfEmployees"))
    features: dict[str, float | str] = {
        "rules_segment": str(rules.get("segment") or ""),
        "rules_region": str(rules.get("region") or ""),
        "rules_country": str(rules.get("country") or ""),
        "country": _plain(lead.get("Country")),
        "country_code": str(lead.get("CountryCode") or "").upper()[:3],
        "state": _plain(lead.get("State")),
        "email_suffix": _domain_suffix(lead.get("Email")),
        "website_suffix": _domain_suffix(lead.get("Website")),
        "employees_missing": float(employees is None),
        "employees_log": math.log10(employees + 1) if employees is not None else -1.0,
        "employees_band": _band(employees),
    }
    for problem in rules.get("problems") or []:
        kind = re.sub(r"'.*", "", str(problem)).strip()[:60]
        features[f"problem={kind}"] = 1.0
    return features
