"""Historical TTFR: leads created since a date and all their touches in four paged queries read
together, the rules applied in memory, the changed leads written 1,000 per composite call.

Resumable: after each written chunk the checkpoint row keeps the last lead done (leads are
processed in CreatedDate, Id order); a rerun for the same date skips up to it. A lead whose write
failed is not done: the checkpoint stays before the first one for the rest of the run, so a
resumed run writes it again. A finished run's checkpoint is cleared by the next run, which then
starts over (and writes only what changed, failed leads among them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone

from ttfr import conf, rules, sources
from ttfr.models import BackfillCheckpoint
from ttfr.services import facts
from ttfr.services.detect import SalesforceClient, outcomes_write

CHUNK = 1000  # one composite call of 5 sObject Collections (salesforce.client.update_records)


@dataclass
class BackfillReport:
    scanned: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    api_calls: int = 0
    resumed: bool = False

    @property
    def calls_per_lead(self) -> float:
        return self.api_calls / self.scanned if self.scanned else 0.0


def _checkpoint(since: dt.date) -> tuple[BackfillCheckpoint, bool]:
    checkpoint, created = BackfillCheckpoint.objects.get_or_create(since=since)
    if checkpoint.finished_at is not None:
        checkpoint.delete()
        return BackfillCheckpoint.objects.create(since=since), False
    return checkpoint, not created and checkpoint.last_created_at is not None


def _after_checkpoint(outcome: rules.LeadOutcome, checkpoint: BackfillCheckpoint) -> bool:
    if checkpoint.last_created_at is None:
        return True
    key = (outcome.created, outcome.lead_id)
    return key > (checkpoint.last_created_at, checkpoint.last_lead_id)


def ttfr_backfill(
    *,
    client: SalesforceClient,
    since: dt.date,
    dry_run: bool,
    api_calls: Callable[[], int],
    progress: Callable[[int], None] = lambda n: None,
    on_total: Callable[[int], None] = lambda n: None,
) -> BackfillReport:
    """Recompute every lead created since ``since``; ``dry_run`` reads but writes nothing
    (neither Salesforce nor the fact table nor the checkpoint)."""
    start_calls = api_calls()
    checkpoint, resumed = (None, False) if dry_run else _checkpoint(since)
    start = dt.datetime.combine(since, dt.time.min, tzinfo=dt.UTC)
    if checkpoint is not None and checkpoint.last_created_at is not None:
        start = max(start, checkpoint.last_created_at)
    leads, rows = sources.history_since(client=client, since=start)
    touches = rules.touches_from_rows(
        tasks=rows.tasks, relations=rows.relations, activity_emails=rows.activity_emails
    )
    outcomes = rules.leads_outcomes(
        leads=leads, touches=touches, automated=conf.automated_senders()
    )
    if checkpoint is not None:
        outcomes = [o for o in outcomes if _after_checkpoint(o, checkpoint)]
    outcomes.sort(key=lambda o: (o.created, o.lead_id))
    on_total(len(outcomes))
    report = BackfillReport(resumed=resumed)
    for segment in _segments(outcomes):
        report.scanned += len(segment)
        report.unchanged += sum(1 for o in segment if not o.changed)
        if dry_run:
            report.updated += sum(1 for o in segment if _writable(o))
        else:
            written, failed_ids = outcomes_write(client=client, outcomes=segment)
            report.updated += written
            facts.lead_facts_outcomes_record(outcomes=segment, now=timezone.now())
            if not report.failed:  # after a failed write the checkpoint stays before it
                done = _before_first_failure(segment, failed_ids=failed_ids)
                _advance(checkpoint, chunk=done, calls=api_calls() - start_calls)
            report.failed += len(failed_ids)
        progress(len(segment))
    report.api_calls = api_calls() - start_calls
    if checkpoint is not None:
        checkpoint.finished_at = timezone.now()
        checkpoint.api_calls = report.api_calls
        checkpoint.save(update_fields=["finished_at", "api_calls"])
    return report


def _writable(outcome: rules.LeadOutcome) -> bool:
    return outcome.changed and not outcome.is_converted


def _segments(outcomes: list[rules.LeadOutcome]) -> list[list[rules.LeadOutcome]]:
    """Consecutive runs of outcomes holding exactly CHUNK leads to write (the last run: fewer),
    so every Collections call but the last is full."""
    segments: list[list[rules.LeadOutcome]] = [[]]
    pending = 0
    for outcome in outcomes:
        segments[-1].append(outcome)
        pending += _writable(outcome)
        if pending == CHUNK:
            segments.append([])
            pending = 0
    return [segment for segment in segments if segment]


def _before_first_failure(
    chunk: list[rules.LeadOutcome], *, failed_ids: list[str]
) -> list[rules.LeadOutcome]:
    failed = {lead_id[:15] for lead_id in failed_ids}
    for position, outcome in enumerate(chunk):
        if outcome.lead_id[:15] in failed:
            return chunk[:position]
    return chunk


def _advance(
    checkpoint: BackfillCheckpoint | None, *, chunk: list[rules.LeadOutcome], calls: int
) -> None:
    """Move the checkpoint past ``chunk``: leads done, their changed ones written."""
    if checkpoint is None or not chunk:
        return
    checkpoint.last_created_at = chunk[-1].created
    checkpoint.last_lead_id = chunk[-1].lead_id
    checkpoint.leads_scanned += len(chunk)
    checkpoint.leads_updated += sum(1 for o in chunk if _writable(o))
    checkpoint.leads_unchanged += sum(1 for o in chunk if not o.changed)
    checkpoint.api_calls = calls
    checkpoint.save()
