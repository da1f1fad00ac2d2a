"""Training data out of the decision log: OpenAI chat (SFT) or preference (DPO) JSONL files.

Layout: ``<out>/<workload>/<YYYY-MM-DD>.jsonl`` per day of decision, and with a split
``<out>/<workload>/train.jsonl`` and ``validation.jsonl`` (a stable hash of each line decides
its side, so re-running an export keeps every example on the same side).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.utils import timezone

from flywheel.choices import DecisionStatus, ExportStatus, Verdict
from flywheel.models import Decision, ExportJob, Label
from flywheel.redaction import pii_redact
from flywheel.selectors import label_in_force

FORMATS = ("sft", "dpo")
logger = logging.getLogger(__name__)


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


# The admin's download: small exports are zipped while the browser waits, larger ones by a worker.


def export_options(data: dict, *, out: Path) -> ExportOptions:
    """ExportOptions from the export form's cleaned data or a job's stored (JSON) options."""
    since = data.get("since")
    return ExportOptions(
        out=out,
        workload=data.get("workload") or "",
        since=dt.date.fromisoformat(since) if isinstance(since, str) else since,
        labeled_only=bool(data.get("labeled_only")),
        format=data.get("format") or "sft",
        split=data.get("split"),
        redact_pii=bool(data.get("redact_pii")),
    )


def export_zip_write(options: ExportOptions, target: IO[bytes]) -> ExportSummary | None:
    """The export's files (written under a scratch directory; ``options.out`` is ignored) zipped
    into ``target`` with a SUMMARY.txt; None, and nothing written, when no line came out."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        fields = {name: getattr(options, name) for name in ExportOptions.__slots__ if name != "out"}
        summary = export_write(ExportOptions(out=out, **fields), progress=lambda rows, _n: rows)
        if not summary.files:
            return None
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as bundle:
            for path in summary.files:
                bundle.write(path, arcname=str(path.relative_to(out)))
            bundle.writestr("SUMMARY.txt", summary.line() + "\n")
    return summary


def export_dir() -> Path:
    """FLYWHEEL_EXPORT_DIR, default ``var/exports/`` of the project."""
    configured = getattr(settings, "FLYWHEEL_EXPORT_DIR", "")
    return Path(configured) if configured else Path(settings.BASE_DIR) / "var" / "exports"


def export_job_request(*, user: object, data: dict, decisions: int) -> ExportJob:
    """Queue a background export (the worker runs ``flywheel.tasks.export_build``)."""
    from django_q.tasks import async_task

    stored = {**data, "since": data["since"].isoformat() if data.get("since") else None}
    job = ExportJob.objects.create(requested_by=user, options=stored, decisions=decisions)
    transaction.on_commit(
        lambda: async_task("flywheel.tasks.export_build", job.pk, task_name=None, group="export")
    )
    return job


def export_job_run(job_id: int) -> ExportJob | None:
    """Build a queued job's zip. Runs once: a job that is not queued any more is left alone."""
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING
    )
    if not claimed:
        return None
    job = ExportJob.objects.get(pk=job_id)
    folder = export_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"flywheel-export-{job.pk}-{timezone.now():%Y%m%d-%H%M%S}.zip"
    partial = folder / f".{name}.partial"
    try:
        with partial.open("wb") as target:
            summary = export_zip_write(export_options(job.options, out=folder), target)
        if summary is None:
            partial.unlink()
            job.summary = "Nothing to export with these filters any more."
        else:
            partial.replace(folder / name)
            job.file_name, job.summary = name, summary.line()
        job.status = ExportStatus.DONE
    except Exception as error:  # recorded on the job for the user; the worker goes on
        logger.exception("export #%s failed", job.pk)
        partial.unlink(missing_ok=True)
        job.status, job.error = ExportStatus.FAILED, f"{type(error).__name__}: {error}"[:2000]
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "file_name", "summary", "error", "finished_at"])
    return job


def export_jobs_prune(*, now: dt.datetime, keep_days: int) -> int:
    """Delete jobs (and their files) older than ``keep_days``; returns how many."""
    old = list(ExportJob.objects.filter(created_at__lt=now - dt.timedelta(days=keep_days)))
    for job in old:
        if job.file_name:
            (export_dir() / job.file_name).unlink(missing_ok=True)
    ExportJob.objects.filter(pk__in=[job.pk for job in old]).delete()
    return len(old)


def export_job_file(job: ExportJob) -> Path | None:
    """The finished zip of a job, when it is still on disk."""
    if job.status != ExportStatus.DONE or not job.file_name:
        return None
    path = export_dir() / Path(job.file_name).name
    return path if path.is_file() else None
