"""Writes on decisions and labels (decisions themselves are written by ``flywheel.gateway``)."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from flywheel.choices import DecisionStatus, LabelSource, Verdict
from flywheel.models import Decision, Label
from flywheel.schema import schema_errors

BULK_BATCH = 500


@transaction.atomic
def decision_effect_record(*, decision_id: int, effect: dict) -> bool:
    """Add what the decision led to in Salesforce. Effects only grow: a key already recorded keeps
    its first value, so a repeated call changes nothing. True when this call added something."""
    decision = (
        Decision.objects.select_for_update().only("id", "effect", "effect_at").get(pk=decision_id)
    )
    current = decision.effect or {}
    added = {key: value for key, value in effect.items() if key not in current}
    if not added:
        return False
    Decision.objects.filter(pk=decision_id).update(
        effect={**current, **added}, effect_at=decision.effect_at or timezone.now()
    )
    return True


def decision_effects_record(*, effects: Mapping[int, dict]) -> int:
    """``decision_effect_record`` for many decisions at once, with the same rule (effects only
    grow). One locked SELECT per 500 decisions, then one UPDATE per distinct resulting effect (a
    batch of owner writes has one per owner), not one per decision. Returns how many changed."""
    return _effects_merge(effects) if effects else 0


@transaction.atomic
def _effects_merge(effects: Mapping[int, dict]) -> int:
    now = timezone.now()
    changed, ids = _effects_first(effects, now=now)
    groups: dict[tuple[str, dt.datetime], list[int]] = defaultdict(list)
    for start in range(0, len(ids), BULK_BATCH):
        rows = Decision.objects.select_for_update().filter(pk__in=ids[start : start + BULK_BATCH])
        for pk, current, effect_at in rows.order_by("pk").values_list("pk", "effect", "effect_at"):
            current = current or {}
            added = {k: v for k, v in effects[pk].items() if k not in current}
            if added:
                merged = json.dumps({**current, **added}, sort_keys=True)
                groups[(merged, effect_at or now)].append(pk)
    for (merged, effect_at), pks in groups.items():
        for start in range(0, len(pks), BULK_BATCH):
            Decision.objects.filter(pk__in=pks[start : start + BULK_BATCH]).update(
                effect=json.loads(merged), effect_at=effect_at
            )
    return changed + sum(len(pks) for pks in groups.values())


def _effects_first(effects: Mapping[int, dict], *, now: dt.datetime) -> tuple[int, list[int]]:
    """Decisions with no effect yet (the common case: owners written just after the decisions
    were made) take theirs unread, one UPDATE per distinct effect, guarded by ``effect IS NULL``
    so a row another worker gave an effect meanwhile is left to the merge. Returns how many
    were set, and the ids the merge must still look at (those of any partly set chunk)."""
    by_effect: dict[str, list[int]] = defaultdict(list)
    for pk, effect in effects.items():
        by_effect[json.dumps(effect, sort_keys=True)].append(pk)
    changed, rest = 0, []
    for text, pks in by_effect.items():
        pks.sort()
        for start in range(0, len(pks), BULK_BATCH):
            chunk = pks[start : start + BULK_BATCH]
            count = Decision.objects.filter(pk__in=chunk, effect__isnull=True).update(
                effect=json.loads(text), effect_at=Coalesce(F("effect_at"), Value(now))
            )
            changed += count
            if count != len(chunk):
                rest += chunk  # the merge adds nothing to the rows just set
    return changed, rest


@transaction.atomic
def label_record(
    *,
    decision_id: int,
    verdict: str,
    corrected_output: dict | None = None,
    source: str = LabelSource.HUMAN,
    reviewer: AbstractBaseUser | None = None,
    note: str = "",
) -> Label:
    """Record one verdict on a decision; a correction must match the decision's output schema."""
    decision = Decision.objects.only("id", "output_schema", "output").get(pk=decision_id)
    if verdict not in Verdict.values:
        raise ValidationError({"verdict": f"Unknown verdict {verdict!r}."})
    if source not in LabelSource.values:
        raise ValidationError({"source": f"Unknown source {source!r}."})
    if corrected_output is not None and corrected_output == decision.output:
        verdict, corrected_output = Verdict.CORRECT, None
    if verdict == Verdict.CORRECT and corrected_output is not None:
        raise ValidationError({"corrected_output": "A 'correct' verdict takes no correction."})
    if corrected_output is not None:
        errors = schema_errors(corrected_output, decision.output_schema)
        if errors:
            raise ValidationError({"corrected_output": errors})
    return Label.objects.create(
        decision=decision,
        verdict=verdict,
        corrected_output=corrected_output,
        source=source,
        reviewer=reviewer if reviewer is not None and reviewer.is_authenticated else None,
        note=note,
    )


@dataclass(frozen=True, slots=True)
class BulkAccept:
    accepted: int
    too_low: (
        int  # below the confidence threshold, or decisions in error: left for one-by-one review
    )
    already: int  # already labeled by this reviewer


@transaction.atomic
def decisions_accept(
    *, decision_ids: list[int], reviewer: AbstractBaseUser, min_confidence: float
) -> BulkAccept:
    """Label the given decisions 'correct' on ``reviewer``'s behalf with one INSERT. Decisions
    below ``min_confidence`` or in error are refused; ones the reviewer labeled already are
    skipped, so a repeated call adds nothing."""
    rows = list(
        Decision.objects.filter(pk__in=decision_ids)
        .annotate(done=Exists(Label.objects.filter(decision=OuterRef("pk"), reviewer=reviewer)))
        .values_list("pk", "confidence", "status", "done")
    )
    eligible = [
        (pk, done)
        for pk, confidence, status, done in rows
        if confidence >= min_confidence and status != DecisionStatus.ERROR
    ]
    todo = [pk for pk, done in eligible if not done]
    Label.objects.bulk_create(
        Label(decision_id=pk, verdict=Verdict.CORRECT, source=LabelSource.HUMAN, reviewer=reviewer)
        for pk in todo
    )
    return BulkAccept(
        accepted=len(todo), too_low=len(rows) - len(eligible), already=len(eligible) - len(todo)
    )
