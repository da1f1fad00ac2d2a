"""Per-workload hooks the workloads register (in ``AppConfig.ready``) so flywheel never imports them.

A correction hook pushes a reviewer's corrected output to Salesforce (routing writes the corrected
owner). It is called only after the reviewer confirms, and returns a sentence for the reviewer;
it raises to report a failure.
"""

from __future__ import annotations

from typing import Protocol


class CorrectionHook(Protocol):
    def __call__(self, *, decision_id: int, corrected_output: dict) -> str: ...


_CORRECTION_HOOKS: dict[str, tuple[CorrectionHook, str]] = {}


def correction_hook_register(*, workload: str, hook: CorrectionHook, label: str) -> None:
    """``label`` says what confirming will do, e.g. "Write the corrected owner to Salesforce"."""
    _CORRECTION_HOOKS[workload] = (hook, label)


def correction_hook_unregister(*, workload: str) -> None:
    _CORRECTION_HOOKS.pop(workload, None)


def correction_hook_for(workload: str) -> tuple[CorrectionHook, str] | None:
    return _CORRECTION_HOOKS.get(workload)
