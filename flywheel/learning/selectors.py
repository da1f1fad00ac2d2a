"""Reads of the learning loop: how shadow challengers compare with the champion they shadowed."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from flywheel.choices import DecisionStatus, Verdict
from flywheel.gateway import SHADOW_SUFFIX
from flywheel.learning.specs import SPECS
from flywheel.models import Decision, Label
from flywheel.selectors import label_in_force

_CHUNK = 2000
_NOT_COMPARED = frozenset({"reason", "confidence", "explanation"})


@dataclass(frozen=True, slots=True)
class ShadowFigures:
    workload: str
    model_name: str
    shadowed: int  # shadow rows
    errors: int  # the challenger failed or broke the schema
    agreement: float | None  # share of answered cases where it said what the champion said
    labelled: int  # cases whose champion decision has a usable label by now
    shadow_accuracy: float | None  # against those labels
    champion_accuracy: float | None  # the champion on the same labelled cases


def shadow_figures(
    *, workload: str = "", since: dt.datetime | None = None, until: dt.datetime | None = None
) -> list[ShadowFigures]:
    """Per workload and challenger: agreement with the champion and accuracy against the labels
    given later to the champion's decisions (corrections count as the truth). Three queries."""
    shadows = Decision.objects.filter(workload__endswith=SHADOW_SUFFIX)
    if workload:
        shadows = shadows.filter(workload=f"{workload}{SHADOW_SUFFIX}")
    if since is not None:
        shadows = shadows.filter(created_at__gte=since)
    if until is not None:
        shadows = shadows.filter(created_at__lt=until)
    rows = list(shadows.values_list("workload", "model_name", "status", "output", "effect"))
    champion_ids = sorted({(effect or {}).get("shadow_of") for *_, effect in rows} - {None})
    champions, truths = _champions_and_truths(champion_ids)
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for wl, model_name, status, output, effect in rows:
        groups[(wl.removesuffix(SHADOW_SUFFIX), model_name)].append(
            (status, output, (effect or {}).get("shadow_of"))
        )
    return [
        _figures(wl, model_name, members, champions, truths)
        for (wl, model_name), members in sorted(groups.items())
    ]


def _champions_and_truths(ids: list[int]) -> tuple[dict[int, dict], dict[int, dict]]:
    champions: dict[int, dict] = {}
    labels: dict[int, list[Label]] = defaultdict(list)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        champions.update(Decision.objects.filter(pk__in=chunk).values_list("id", "output"))
        for label in Label.objects.filter(decision_id__in=chunk).order_by("created_at", "id"):
            labels[label.decision_id].append(label)
    truths: dict[int, dict] = {}
    for decision_id, mine in labels.items():
        label = label_in_force(mine)
        if label is None or decision_id not in champions:
            continue
        if label.verdict == Verdict.CORRECT:
            truths[decision_id] = champions[decision_id]
        elif label.corrected_output is not None:
            truths[decision_id] = label.corrected_output
    return champions, truths


def _same(workload: str, answer: dict, other: dict) -> bool:
    spec = SPECS.get(workload)
    keys = spec.targets if spec else sorted((set(answer) | set(other)) - _NOT_COMPARED)
    return all(answer.get(key) == other.get(key) for key in keys)


def _figures(
    workload: str, model_name: str, members: list, champions: dict, truths: dict
) -> ShadowFigures:
    answered = [(o, of) for status, o, of in members if status != DecisionStatus.ERROR]
    compared = [(o, champions[of]) for o, of in answered if of in champions]
    judged = [(o, champions[of], truths[of]) for o, of in answered if of in truths]
    return ShadowFigures(
        workload=workload,
        model_name=model_name,
        shadowed=len(members),
        errors=len(members) - len(answered),
        agreement=_share(sum(_same(workload, o, c) for o, c in compared), len(compared)),
        labelled=len(judged),
        shadow_accuracy=_share(sum(_same(workload, o, t) for o, _, t in judged), len(judged)),
        champion_accuracy=_share(sum(_same(workload, c, t) for _, c, t in judged), len(judged)),
    )


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
