"""What the learning loop knows per workload: inputs, targets, model, and the answer it gives.

Specs read only what the gateway recorded (``Decision.context`` and outputs); flywheel never
imports a workload. Templates' keywords are read through the app registry when that app is
installed, and frozen into the artifact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from django.apps import apps
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline, make_union

from flywheel.learning.features import KeywordScores, routing_features, text_normalize


@dataclass(frozen=True, slots=True)
class Prediction:
    label: str
    probability: float


class WorkloadSpec(Protocol):
    workload: str
    targets: tuple[str, ...]
    algorithm: str

    def inputs(self, context: Mapping) -> object: ...

    def serves(self, context: Mapping) -> bool: ...

    def extras(self, truths: list[dict]) -> dict: ...

    def pipeline(self, *, target: str, extras: dict) -> Pipeline: ...

    def answer(self, *, predictions: dict[str, Prediction], extras: dict, name: str) -> dict: ...


@dataclass(frozen=True)
class TemplatesSpec:
    """Intent from the inquiry text (TF-IDF character n-grams plus the templates' keyword hits,
    logistic regression); the template is the active one for that intent."""

    workload: str = "templates"
    targets: tuple[str, ...] = ("intent",)
    algorithm: str = "tfidf-char+keywords/logistic-regression"

    def inputs(self, context: Mapping) -> str:
        return str(context.get("Description") or "")

    def serves(self, context: Mapping) -> bool:
        return True

    def extras(self, truths: list[dict]) -> dict:
        keywords: dict[str, list[str]] = {}
        templates: dict[str, str] = {}
        if apps.is_installed("templates_app"):
            model = apps.get_model("templates_app", "EmailTemplate")
            active = model.objects.filter(active=True).order_by("intent", "name")
            for intent, name, words in active.values_list("intent", "name", "keywords"):
                if intent not in templates:  # the template the workload itself picks
                    keywords[intent] = list(words or [])
                    templates[intent] = name
        seen: dict[str, Counter] = {}
        for truth in truths:
            if truth.get("intent") and truth.get("template"):
                seen.setdefault(truth["intent"], Counter())[truth["template"]] += 1
        for intent, counts in seen.items():
            templates.setdefault(intent, counts.most_common(1)[0][0])
        return {"keywords": keywords, "templates": templates}

    def pipeline(self, *, target: str, extras: dict) -> Pipeline:
        text = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, preprocessor=text_normalize
        )
        return make_pipeline(
            make_union(text, KeywordScores(keywords=extras["keywords"])),
            LogisticRegression(C=10.0, max_iter=3000),
        )

    def answer(self, *, predictions: dict[str, Prediction], extras: dict, name: str) -> dict:
        intent = predictions["intent"]
        templates = extras["templates"]
        template = templates.get(intent.label) or templates.get("general") or ""
        return {
            "intent": intent.label,
            "template": template,
            "confidence": round(intent.probability, 4),
            "reason": f"{name}: {intent.label} (p={intent.probability:.2f})",
        }


@dataclass(frozen=True)
class RoutingSpec:
    """Segment and region of ambiguous leads from the lead's raw fields and the rules' reading
    (one-hot fields, head-count band, logistic regression per target). The owner then follows
    from the policy's pools, as it does for an LLM answer."""

    workload: str = "routing"
    targets: tuple[str, ...] = ("segment", "region")
    algorithm: str = "dict-vectorizer/logistic-regression"

    def inputs(self, context: Mapping) -> dict:
        return routing_features(context)

    def serves(self, context: Mapping) -> bool:
        return bool((context.get("rules") or {}).get("problems"))

    def extras(self, truths: list[dict]) -> dict:
        return {}

    def pipeline(self, *, target: str, extras: dict) -> Pipeline:
        return make_pipeline(DictVectorizer(), LogisticRegression(C=10.0, max_iter=3000))

    def answer(self, *, predictions: dict[str, Prediction], extras: dict, name: str) -> dict:
        segment, region = predictions["segment"], predictions["region"]
        confidence = segment.probability * region.probability
        return {
            "segment": segment.label,
            "region": region.label,
            "confidence": round(confidence, 4),
            "reason": (
                f"{name}: {segment.label} (p={segment.probability:.2f}) x "
                f"{region.label} (p={region.probability:.2f})"
            ),
        }


SPECS: dict[str, WorkloadSpec] = {spec.workload: spec for spec in (TemplatesSpec(), RoutingSpec())}


def spec_get(workload: str) -> WorkloadSpec:
    try:
        return SPECS[workload]
    except KeyError:
        known = ", ".join(sorted(SPECS))
        raise LookupError(f"No learning spec for workload {workload!r} (known: {known}).") from None


def predict(
    *, spec: WorkloadSpec, pipelines: Mapping[str, Pipeline], inputs: list[object]
) -> list[dict[str, Prediction]]:
    """Best label and its probability per target, for a batch of inputs."""
    results: list[dict[str, Prediction]] = [{} for _ in inputs]
    for target in spec.targets:
        pipeline = pipelines[target]
        probabilities = pipeline.predict_proba(inputs)
        classes = pipeline.classes_
        for row, probs in zip(results, probabilities, strict=True):
            best = int(probs.argmax())
            row[target] = Prediction(label=str(classes[best]), probability=float(probs[best]))
    return results
