"""Rule-based intent detection: keyword and phrase scoring from the templates' own keywords."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from templates_app.choices import Intent

GENERAL = Intent.GENERAL.value
EMPTY_CONFIDENCE = 0.2


@dataclass(frozen=True)
class IntentGuess:
    intent: str
    confidence: float
    reason: str
    scores: dict[str, float]


def normalize(text: str) -> str:
    """Lower case, accents removed, punctuation as spaces: 'Démonstration!' → 'demonstration'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " " + " ".join(re.sub(r"[^\w]+", " ", plain).split()) + " "


def compile_keywords(
    keywords_by_intent: dict[str, list[str]],
) -> dict[str, list[tuple[str, float]]]:
    """Normalised keywords with weights: phrases count more than single words."""
    return {
        intent: [
            (f" {normalize(word).strip()} ", 1.0 + 0.5 * normalize(word).strip().count(" "))
            for word in words
            if normalize(word).strip()
        ]
        for intent, words in keywords_by_intent.items()
    }


def detect(text: str, compiled: dict[str, list[tuple[str, float]]]) -> IntentGuess:
    """Score every intent; the best wins, confidence reflects its margin over the runner-up."""
    haystack = normalize(text or "")
    if not haystack.strip():
        return IntentGuess(GENERAL, EMPTY_CONFIDENCE, "No inquiry text: general reply.", {})
    scores: dict[str, float] = {}
    hits: dict[str, list[str]] = {}
    for intent, keywords in compiled.items():
        for needle, weight in keywords:
            count = haystack.count(needle)
            if count:
                scores[intent] = scores.get(intent, 0.0) + weight * min(count, 3)
                hits.setdefault(intent, []).append(needle.strip())
    if not scores:
        return IntentGuess(GENERAL, 0.3, "No intent keywords found: general reply.", {})
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0] == GENERAL, item[0]))
    best, top = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    confidence = round(min(0.95, 0.45 + 0.5 * (top - runner_up) / (top + 1.0)), 2)
    words = ", ".join(repr(word) for word in hits[best][:4])
    return IntentGuess(best, confidence, f"{best}: matched {words}.", scores)
