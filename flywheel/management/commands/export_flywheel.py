"""manage.py export_flywheel: decisions as fine-tuning JSONL, one file per workload per day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from flywheel.exports import FORMATS, ExportOptions, export_write
from flywheel.models import Decision
from flywheel_site.command_helpers import day_option, progress_bar


class Command(BaseCommand):
    help = (
        "Write decisions as JSONL in OpenAI fine-tuning chat format (or DPO pairs): "
        "<out>/<workload>/<YYYY-MM-DD>.jsonl, corrected outputs where a label corrected them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, help="Output directory (created if missing).")
        parser.add_argument("--workload", default="", help="Only this workload (e.g. routing).")
        parser.add_argument(
            "--since", default="", help="Only decisions from this day (YYYY-MM-DD)."
        )
        parser.add_argument("--labeled-only", action="store_true", help="Only labeled decisions.")
        parser.add_argument("--format", choices=FORMATS, default="sft")
        parser.add_argument(
            "--split",
            type=float,
            default=None,
            help="Also write train.jsonl/validation.jsonl with this share in train (e.g. 0.9).",
        )
        parser.add_argument(
            "--redact-pii", action="store_true", help="Replace e-mail addresses and phone numbers."
        )

    def handle(self, *args: object, **options: object) -> None:
        export_options = ExportOptions(
            out=Path(str(options["out"])),
            workload=str(options["workload"]),
            since=_day(str(options["since"])),
            labeled_only=bool(options["labeled_only"]),
            format=str(options["format"]),
            split=_share(options["split"]),
            redact_pii=bool(options["redact_pii"]),
        )
        if export_options.out.exists() and not export_options.out.is_dir():
            raise CommandError(f"--out {export_options.out} exists and is not a directory.")
        known = set(Decision.objects.order_by().values_list("workload", flat=True).distinct())
        if export_options.workload and export_options.workload not in known:
            raise CommandError(
                f"No decisions for workload {export_options.workload!r}; "
                f"known: {', '.join(sorted(known)) or 'none yet'}."
            )
        summary = export_write(export_options, progress=self._progress)
        self.stdout.write(summary.line())

    def _progress(self, decisions: Iterator[Decision], total: int) -> Iterator[Decision]:
        return iter(progress_bar(self.stderr, iterable=decisions, total=total, unit="decision"))


def _day(value: str) -> dt.date | None:
    return day_option(value) if value else None


def _share(value: object) -> float | None:
    if value is None:
        return None
    share = float(value)  # argparse already made it a float
    if not 0 < share < 1:
        raise CommandError("--split must be between 0 and 1, e.g. 0.9.")
    return share
