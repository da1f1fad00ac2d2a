"""manage.py backfill_ttfr [--since YYYY-MM-DD] [--dry-run]"""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Sum

from flywheel_site.command_helpers import day_option, progress_bar
from salesforce.client import get_client
from salesforce.models import ApiUsage
from salesforce.usage import recorder
from ttfr.selectors import backfill_unfinished_get
from ttfr.services.backfill import ttfr_backfill

WORKLOAD = "ttfr_backfill"
DEFAULT_DAYS = 90


def _api_calls() -> int:
    recorder.flush()
    total = ApiUsage.objects.filter(workload=WORKLOAD).aggregate(n=Sum("calls"))["n"]
    return int(total or 0)


class Command(BaseCommand):
    help = "Compute time to first response for past leads and write the changed ones back."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--since",
            type=day_option,
            default=None,
            help=f"Leads created on or after this date (default: {DEFAULT_DAYS} days ago).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Read and report; write nothing."
        )

    def handle(self, *args: object, **options: object) -> None:
        since = options["since"] or self._default_since(dry_run=bool(options["dry_run"]))
        bar = progress_bar(self.stderr, unit="lead", desc="backfill", disable=None)
        try:
            report = ttfr_backfill(
                client=get_client(workload=WORKLOAD),
                since=since,
                dry_run=bool(options["dry_run"]),
                api_calls=_api_calls,
                progress=bar.update,
                on_total=lambda total: setattr(bar, "total", total),
            )
        except Exception as error:
            raise CommandError(f"Backfill stopped: {error}. Run it again to resume.") from error
        finally:
            bar.close()
        mode = " (dry run: nothing written)" if options["dry_run"] else ""
        resumed = " (resumed from the last checkpoint)" if report.resumed else ""
        self.stdout.write(f"Leads since {since}{mode}{resumed}")
        self.stdout.write(f"leads scanned: {report.scanned}")
        self.stdout.write(f"leads updated: {report.updated}")
        self.stdout.write(f"leads unchanged: {report.unchanged}")
        if report.failed:
            self.stdout.write(f"leads failed: {report.failed} (written again by the next run)")
        self.stdout.write(f"API calls: {report.api_calls}")
        self.stdout.write(f"API calls per lead: {report.calls_per_lead:.4f}")

    def _default_since(self, *, dry_run: bool) -> dt.date:
        """Without --since: the date of an interrupted run, so it resumes whatever the day;
        else DEFAULT_DAYS ago."""
        unfinished = None if dry_run else backfill_unfinished_get()
        if unfinished is None:
            return dt.datetime.now(dt.UTC).date() - dt.timedelta(DEFAULT_DAYS)
        self.stdout.write(
            f"Resuming the unfinished backfill of leads since {unfinished.since} (started "
            f"{unfinished.started_at:%Y-%m-%d %H:%M} UTC); give --since to start another."
        )
        return unfinished.since
