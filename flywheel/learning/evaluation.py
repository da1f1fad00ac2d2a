"""Held-out figures: accuracy, per-class precision and recall, calibration of the confidence."""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.metrics import precision_recall_fscore_support

CALIBRATION_BINS = 5


def per_class(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, dict]:
    labels = sorted(set(truth) | set(predicted))
    precision, recall, _, support = precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0
    )
    return {
        label: {
            "precision": round(float(p), 4),
            "recall": round(float(r), 4),
            "support": int(s),
        }
        for label, p, r, s in zip(labels, precision, recall, support, strict=True)
    }


def calibration(confidences: Sequence[float], correct: Sequence[bool]) -> dict:
    """Reliability bins and the expected calibration error (mean |confidence - accuracy| weighted
    by the bin's share of cases)."""
    bins = []
    total = len(confidences)
    ece = 0.0
    for index in range(CALIBRATION_BINS):
        low, high = index / CALIBRATION_BINS, (index + 1) / CALIBRATION_BINS
        members = [
            (c, ok)
            for c, ok in zip(confidences, correct, strict=True)
            if low <= c < high or (index == CALIBRATION_BINS - 1 and c == 1.0)
        ]
        if not members:
            continue
        mean_confidence = sum(c for c, _ in members) / len(members)
        accuracy = sum(ok for _, ok in members) / len(members)
        ece += len(members) / total * abs(mean_confidence - accuracy)
        bins.append(
            {
                "range": f"{low:.1f}-{high:.1f}",
                "n": len(members),
                "mean_confidence": round(mean_confidence, 4),
                "accuracy": round(accuracy, 4),
            }
        )
    return {"ece": round(ece, 4) if total else None, "bins": bins}


def accuracy(correct: Sequence[bool]) -> float | None:
    return round(sum(correct) / len(correct), 4) if correct else None
