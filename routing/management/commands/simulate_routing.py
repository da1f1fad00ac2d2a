"""Dry-run a routing policy version over a CSV of leads; optionally compare with another version."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from routing.engine.policy import compile_snapshot
from routing.selectors import NoActivePolicy, policy_active_get, policy_get, rep_hours_map
from routing.services.simulate import (
    leads_read_csv,
    leads_simulate,
    runs_compare,
    simulation_csv,
)


class Command(BaseCommand):
    help = (
        "Route leads from a CSV (columns: Lead field API names) with a policy version; "
        "no Salesforce writes, no decisions recorded."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--input", required=True, type=Path)
        parser.add_argument("--output", required=True, type=Path)
        parser.add_argument("--policy-version", type=int, default=None)
        parser.add_argument("--compare-to", type=int, default=None)
        parser.add_argument(
            "--at",
            type=dt.datetime.fromisoformat,
            default=None,
            help="Moment for working hours (ISO 8601, default now).",
        )

    def handle(self, *args: object, **options: object) -> None:
        source = Path(options["input"])
        try:
            text = source.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"Cannot read {source}: {error}") from error
        columns, leads = leads_read_csv(text)
        if not columns:
            raise CommandError(f"{source} has no header row (Lead field API names).")
        now = _aware(options["at"]) or timezone.now()
        policy = self._policy(options["policy_version"])
        reps = rep_hours_map()
        simulated = leads_simulate(leads=leads, policy=policy, reps=reps, open_leads={}, now=now)
        Path(options["output"]).write_text(
            simulation_csv(simulated=simulated, policy=policy, input_columns=columns),
            encoding="utf-8",
        )
        self.stdout.write(
            f"{len(simulated)} leads routed with policy version {policy.version} "
            f"→ {options['output']} (dry run)."
        )
        if options["compare_to"] is not None:
            other = self._policy(options["compare_to"])
            before = leads_simulate(leads=leads, policy=other, reps=reps, open_leads={}, now=now)
            comparison = runs_compare(before=before, after=simulated)
            for line in comparison.lines(
                before=f"v{other.version}", after=f"v{policy.version}", label=policy.owner_label
            ):
                self.stdout.write(line)

    def _policy(self, version: int | None):
        try:
            row = policy_active_get() if version is None else policy_get(version=version)
        except NoActivePolicy as error:
            raise CommandError(str(error)) from error
        return compile_snapshot(row.snapshot)


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)
