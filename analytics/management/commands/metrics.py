"""``manage.py metrics DAYS OUTDIR``: every dashboard as JSON and every table as CSV."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from analytics import exports
from analytics.filters import MAX_DAYS


class Command(BaseCommand):
    help = (
        "Write the dashboards for the last DAYS days (today included) into OUTDIR: one JSON file "
        "per page (overview, ttfr, routing, templates, flywheel) and one CSV per table, exactly "
        "what the pages and their exports show."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("days", metavar="DAYS", help=f"Number of days, 1 to {MAX_DAYS}.")
        parser.add_argument("outdir", metavar="OUTDIR", help="Directory to write (created).")

    def handle(self, *args: object, days: str, outdir: str, **options: object) -> None:
        count = _days(days)
        filters = exports.report_filters(days=count, today=timezone.now().date())
        try:
            written = exports.report_write(filters=filters, outdir=Path(outdir))
        except OSError as error:
            raise CommandError(
                f"Cannot write the report to {outdir} ({error.strerror or error}). Choose a "
                "directory this user may create and write."
            ) from None
        self.stdout.write(
            f"Wrote {len(written)} files for {filters.start} to {filters.end} into {outdir}."
        )


def _days(value: str) -> int:
    try:
        days = int(value)
    except ValueError:
        days = 0
    if not 1 <= days <= MAX_DAYS:
        raise CommandError(f"DAYS must be a whole number from 1 to {MAX_DAYS}, not {value!r}.")
    return days
