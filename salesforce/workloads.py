"""django-q2 entry point for a listener batch: all its workloads in one task.

One task per batch instead of one per workload: at small batches (steady traffic) the fixed cost
of a task (broker round trip, worker loop) dominated the cost of the work itself
(bench/README.md). The per-workload task functions stay the entry points: this task calls them
in order, and the sweep (``salesforce/sweep.py``) or an operator can still call them alone.
"""

from __future__ import annotations

import logging
import pydoc

from salesforce.dispatch import WORKLOAD_TASKS
from salesforce.pending import work_done_together

logger = logging.getLogger(__name__)


def workloads_warm(**_: object) -> None:
    """A new django-q2 worker (at start and every ``recycle`` tasks) imports every workload
    before it takes a task: otherwise the first batch it takes waits for those imports (about
    0.4 CPU-seconds, 1-2 s under load)."""
    for path in WORKLOAD_TASKS:
        pydoc.locate(path)


class WorkloadsFailed(RuntimeError):
    """Some workloads of a batch raised; the others ran. Raised after all of them, so the task is
    recorded as failed; the failed workloads' events keep their pending bits for the sweep."""


def run_workloads(plan: dict[str, list[int]]) -> dict[str, int]:
    """Run each workload of ``plan`` (task path → event ids) in ``WORKLOAD_TASKS`` order:
    routing first, so the owner is written before template suggestion and TTFR start. Each runs
    isolated: one raising does not keep the others from running. Returns events per workload."""
    unknown = set(plan) - set(WORKLOAD_TASKS)
    if unknown:
        raise ValueError(f"not a workload task: {', '.join(sorted(unknown))}")
    done: dict[str, int] = {}
    failures: list[str] = []
    with work_done_together():  # one UPDATE of the pending bits for the whole batch
        for path in WORKLOAD_TASKS:
            event_ids = plan.get(path)
            if not event_ids:
                continue
            try:
                pydoc.locate(path)(event_ids)  # how django-q2 resolves a task path
            except Exception as error:
                logger.exception("%s failed on %d event(s)", path, len(event_ids))
                failures.append(f"{path}: {type(error).__name__}: {error}")
            else:
                done[path] = len(event_ids)
    if failures:
        raise WorkloadsFailed("; ".join(failures))
    return done
