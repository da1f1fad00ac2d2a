"""Training data out of the decision log: OpenAI chat (SFT) or preference (DPO) JSONL files.

Layout: ``<out>/<workload>/<YYYY-MM-DD>.jsonl`` per day of decision, and with a split
``<out>/<workload>/train.jsonl`` and ``validation.jsonl`` (a stable hash of each line decides
its side, so re-running an export keeps every example on the same side).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from flywheel.choices import DecisionStatus, Verdict
from flywheel.models import Decision, Label
from flywheel.redaction import pii_redact
from flywheel.selectors import label_in_force

FORMATS = ("sft", "dpo")


@dataclass(frozen=True, slots=True)
class ExportOptions:
    out: Path
    workload: str = ""
    since: dt.date | None = None
    labeled_only: bool = False
    format: str = "sft"
    split: float | None = None
    redact_pii: bool = False


@dataclass
class ExportSummary:
    written: Counter = field(default_factory=Counter)  # lines per workload
    files: list[Path] = field(default_factory=list)
    duplicates: int = 0
    skipped: int = 0  # no usable answer (errors; 'incorrect' without a correction; DPO: no pair)

    def line(self) -> str:
        per = ", ".join(f"{wl} {n}" for wl, n in sorted(self.written.items())) or "nothing"
        return (
            f"Exported {sum(self.written.values())} line(s) in {len(self.files)} file(s) "
            f"({per}); {self.duplicates} duplicate(s) and {self.skipped} without a usable "
            "answer skipped."
        )


def export_queryset(options: ExportOptions) -> QuerySet[Decision]:
    queryset = Decision.objects.exclude(status=DecisionStatus.ERROR).prefetch_related(
        Prefetch("labels", queryset=Label.objects.order_by("created_at", "id"))
    )
    if options.workload:
        queryset = queryset.filter(workload=options.workload)
    if options.since is not None:
        start = dt.datetime.combine(options.since, dt.time.min, tzinfo=dt.UTC)
        queryset = queryset.filter(created_at__gte=start)
    if options.labeled_only or options.format == "dpo":
        queryset = queryset.filter(Exists(Label.objects.filter(decision=OuterRef("pk"))))
    return queryset.order_by("workload", "created_at", "id")


def export_write(
    options: ExportOptions, *, progress: Callable[[Iterator[Decision], int], Iterator[Decision]]
) -> ExportSummary:
    """Write the files; ``progress`` wraps the decision iterator (a progress bar, or nothing)."""
    if options.format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    queryset = export_queryset(options)
    summary = ExportSummary()
    seen: set[str] = set()
    with _Files(options.out, summary) as files:
        for decision in progress(queryset.iterator(chunk_size=1000), queryset.count()):
            example = _example(decision, options)
            if example is None:
                summary.skipped += 1
                continue
            line = json.dumps(example, ensure_ascii=False, sort_keys=True)
            digest = hashlib.sha256(f"{decision.workload}\n{line}".encode()).hexdigest()
            if digest in seen:
                summary.duplicates += 1
                continue
            seen.add(digest)
            day = decision.created_at.astimezone(dt.UTC).date().isoformat()
            files.write(Path(decision.workload) / f"{day}.jsonl", line, rolling=True)
            if options.split is not None:
                side = "train" if int(digest[:8], 16) / 0xFFFFFFFF < options.split else "validation"
                files.write(Path(decision.workload) / f"{side}.jsonl", line, rolling=False)
            summary.written[decision.workload] += 1
    return summary


def final_output(decision: Decision) -> dict | None:
    """What the assistant should have said: the correction in force, the decision's own output
    when judged correct or unlabeled, None when judged wrong without a correction."""
    label = label_in_force(list(decision.labels.all()))
    if label is None or label.verdict == Verdict.CORRECT:
        return decision.output
    return label.corrected_output


def _example(decision: Decision, options: ExportOptions) -> dict | None:
    turns = list(decision.conversation.get("messages", []))
    if turns and turns[-1].get("role") == "assistant":
        turns.pop()  # the decision's own answer; replaced by the answer in force
    prompt = [_message(m["role"], str(m.get("content") or ""), options) for m in turns]
    answer = final_output(decision)
    if answer is None or not prompt:
        return None
    if options.format == "sft":
        return {"messages": [*prompt, _message("assistant", _json(answer), options)]}
    if answer == decision.output:
        return None
    return {
        "input": {"messages": prompt},
        "preferred_output": [_message("assistant", _json(answer), options)],
        "non_preferred_output": [_message("assistant", _json(decision.output), options)],
    }


def _message(role: str, content: str, options: ExportOptions) -> dict:
    return {"role": role, "content": pii_redact(content) if options.redact_pii else content}


def _json(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False)


class _Files:
    """Output files opened on first use. Decisions come ordered by workload and time, so opening
    one day's file ("rolling") closes the previous one; split files stay open to the end."""

    def __init__(self, out: Path, summary: ExportSummary) -> None:
        self._out, self._summary = out, summary
        self._handles: dict[Path, IO[str]] = {}
        self._rolling: Path | None = None

    def __enter__(self) -> _Files:
        return self

    def write(self, relative: Path, line: str, *, rolling: bool) -> None:
        handle = self._handles.get(relative)
        if handle is None:
            if rolling and self._rolling is not None:
                self._handles.pop(self._rolling).close()
            if rolling:
                self._rolling = relative
            path = self._out / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = self._handles[relative] = path.open("w", encoding="utf-8")
            self._summary.files.append(path)
        handle.write(line + "\n")

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles.values():
            handle.close()
