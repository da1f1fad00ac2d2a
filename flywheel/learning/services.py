"""Writes of the learning loop: the one function that changes a model version's mode."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from flywheel.choices import AUDIT_WORKLOAD, Decider
from flywheel.learning.choices import CHALLENGER_MODES, ModelMode
from flywheel.learning.serving import serving_cache_clear
from flywheel.models import Decision, ModelVersion


@transaction.atomic
def model_version_mode_set(
    *,
    version: ModelVersion,
    mode: str,
    ab_share: float | None = None,
    actor: AbstractBaseUser | None = None,
) -> ModelVersion:
    """Put ``version`` in ``mode``. A new champion sends the previous one to off; a new
    challenger (shadow or A/B) sends the previous challenger to off. Every change is appended to
    the versions' history."""
    if mode not in ModelMode.values:
        raise ValidationError({"mode": f"Unknown mode {mode!r}."})
    if ab_share is not None and not 0 <= ab_share <= 1:
        raise ValidationError({"ab_share": "A share between 0 and 1."})
    peers = list(
        ModelVersion.objects.select_for_update().filter(workload=version.workload).order_by("id")
    )
    version = next(peer for peer in peers if peer.pk == version.pk)
    seats = (ModelMode.CHAMPION,) if mode == ModelMode.CHAMPION else CHALLENGER_MODES
    for peer in peers:
        if peer.pk != version.pk and mode != ModelMode.OFF and peer.mode in seats:
            _mode_change(peer, ModelMode.OFF, actor=actor, why=f"replaced by v{version.version}")
    if ab_share is not None:
        version.ab_share = ab_share
    _mode_change(version, mode, actor=actor, why="")
    _cache_clear()
    return version


def workload_champion_demote(
    *, workload: str, actor: AbstractBaseUser | None = None
) -> ModelVersion | None:
    """Roll back to the LLM (or the rules without one): the champion, if any, goes off."""
    champion = ModelVersion.objects.filter(workload=workload, mode=ModelMode.CHAMPION).first()
    if champion is None:
        return None
    return model_version_mode_set(version=champion, mode=ModelMode.OFF, actor=actor)


def _mode_change(version: ModelVersion, mode: str, *, actor: AbstractBaseUser | None, why: str):
    entry = {
        "at": timezone.now().isoformat(),
        "from": version.mode,
        "to": mode,
        "by": actor.get_username() if actor is not None and actor.is_authenticated else "",
    }
    if mode == ModelMode.AB:
        entry["ab_share"] = version.ab_share
    if why:
        entry["why"] = why
    version.history = [*version.history, entry]
    _mode_change_audit(version, entry, actor=actor)
    version.mode = mode
    version.save(update_fields=["mode", "ab_share", "history"])


def _mode_change_audit(version: ModelVersion, entry: dict, *, actor: AbstractBaseUser | None):
    """Each mode change is also a decision of its own (who or what put which model where)."""
    by_human = actor is not None and actor.is_authenticated
    Decision.objects.create(
        workload=AUDIT_WORKLOAD,
        subject_id=f"{version.workload} v{version.version}"[:64],
        decider=Decider.HUMAN if by_human else Decider.RULES,
        model_name=f"local:{version.workload}:v{version.version}"[:100],
        prompt_version="mode-change-v1",
        context={
            "workload": version.workload,
            "version": version.version,
            "metrics": {
                key: version.metrics.get(key)
                for key in ("accuracy", "held_out")
                if key in version.metrics
            },
        },
        conversation={"messages": []},
        output={"from": entry["from"], "to": entry["to"], "ab_share": entry.get("ab_share")},
        confidence=1.0,
        explanation=entry.get("why") or (f"by {entry['by']}" if entry["by"] else "automatic"),
    )


def _cache_clear() -> None:
    serving_cache_clear()
    transaction.on_commit(serving_cache_clear)
