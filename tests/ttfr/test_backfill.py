"""backfill_ttfr: paged reads, few writes, dry run, resume, and the printed figures."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command

from tests.ttfr.fakes import T0, FakeClient, email, lead, relation, task
from ttfr import rules
from ttfr.management.commands import backfill_ttfr
from ttfr.models import BackfillCheckpoint, LeadFact
from ttfr.services import backfill as backfill_service
from ttfr.services.backfill import ttfr_backfill

pytestmark = pytest.mark.django_db
SINCE = (T0 - dt.timedelta(days=1)).date()


def history(n: int) -> FakeClient:
    """n leads an hour apart; two in three answered (call or email), one in three with a to-do."""
    client = FakeClient()
    for i in range(n):
        lead_id = f"00Q5f{i:010d}AAA"
        created = T0 + dt.timedelta(hours=i)
        client.add("Lead", lead(lead_id, created=created))
        if i % 3 == 0:
            client.add("Task", task(lead_id, at=created + dt.timedelta(minutes=9)))
        elif i % 3 == 1:
            message = email(at=created + dt.timedelta(minutes=4))
            client.add("EmailMessage", message)
            client.add("EmailMessageRelation", relation(message, lead_id))
        else:
            client.add(
                "Task", task(lead_id, at=created + dt.timedelta(minutes=1), status="Not Started")
            )
    return client


def backfill(client: FakeClient, *, dry_run: bool = False):
    return ttfr_backfill(
        client=client, since=SINCE, dry_run=dry_run, api_calls=lambda: client.calls
    )


def test_backfill_writes_changed_leads_in_collections_and_a_second_run_writes_nothing():
    client = history(900)
    first = backfill(client)
    assert (first.scanned, first.updated, first.unchanged) == (900, 600, 300)
    assert [len(batch) for batch in client.updates] == [600]  # one composite call up to 1,000
    assert (
        first.api_calls == 1 + 1
    )  # leads, tasks, relations, activity emails read together + 1 update
    stored = dict(LeadFact.objects.values_list("lead_id", "updated_at"))
    second = backfill(client)
    assert (second.updated, second.unchanged, second.api_calls) == (0, 900, 1)
    assert LeadFact.objects.filter(first_response_at__isnull=False).count() == 600
    # no fact rewritten
    assert dict(LeadFact.objects.values_list("lead_id", "updated_at")) == stored


def test_backfilled_values_follow_the_rules():
    client = history(3)
    backfill(client)
    minutes = [client.get("Lead", f"00Q5f{i:010d}AAA")[rules.FIELD_MINUTES] for i in range(3)]
    assert minutes == [9.0, 4.0, None]


def test_dry_run_writes_nothing_anywhere():
    client = history(30)
    report = backfill(client, dry_run=True)
    assert (report.scanned, report.updated) == (30, 20)
    assert client.updates == []
    assert not LeadFact.objects.exists()
    assert not BackfillCheckpoint.objects.exists()


def test_interrupted_backfill_resumes_after_the_last_written_chunk(monkeypatch):
    monkeypatch.setattr(backfill_service, "CHUNK", 200)
    client = history(500)
    real_update, writes = client.update_records, []

    def failing_update(sobject, records):
        if len(writes) == 1:
            raise ConnectionError("network down")
        writes.append(len(records))
        return real_update(sobject, records)

    client.update_records = failing_update
    with pytest.raises(ConnectionError):
        backfill(client)
    checkpoint = BackfillCheckpoint.objects.get(since=SINCE)
    assert checkpoint.leads_scanned == 299  # the 200th lead to write is the 299th
    # when it runs again it picks up where it stopped
    client.update_records = real_update
    resumed = backfill(client)
    assert resumed.resumed
    assert resumed.scanned == 201
    assert (
        sum(1 for i in range(500) if client.get("Lead", f"00Q5f{i:010d}AAA")[rules.FIELD_AT]) == 334
    )


def test_command_prints_the_figures(monkeypatch):
    client = history(60)
    monkeypatch.setattr(backfill_ttfr, "get_client", lambda workload: client)
    monkeypatch.setattr(backfill_ttfr, "_api_calls", lambda: client.calls)
    out = io.StringIO()
    call_command("backfill_ttfr", "--since", SINCE.isoformat(), stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    assert "leads scanned: 60" in text
    assert "leads updated: 40" in text
    assert "leads unchanged: 20" in text
    assert "API calls per lead: 0.0333" in text  # 1 composite read + 1 write for 60 leads


def test_command_rejects_a_bad_date():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not a date"):
        call_command("backfill_ttfr", "--since", "yesterday")


def run_command(monkeypatch, client: FakeClient, *, days_ago: int) -> str:
    """The command without --since, on a day when its default is ``days_ago`` days back."""
    monkeypatch.setattr(backfill_ttfr, "get_client", lambda workload: client)
    monkeypatch.setattr(backfill_ttfr, "_api_calls", lambda: client.calls)
    monkeypatch.setattr(backfill_ttfr, "DEFAULT_DAYS", days_ago)
    out = io.StringIO()
    call_command("backfill_ttfr", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_an_interrupted_default_run_resumes_on_another_day(monkeypatch):
    from django.core.management.base import CommandError

    monkeypatch.setattr(backfill_service, "CHUNK", 200)
    client = history(500)
    days_ago = (dt.datetime.now(dt.UTC).date() - SINCE).days
    real_update = client.update_records

    def down_after_the_first_chunk(sobject, records):
        if client.updates:
            raise ConnectionError("network down")
        return real_update(sobject, records)

    client.update_records = down_after_the_first_chunk
    with pytest.raises(CommandError, match="Run it again to resume"):
        run_command(monkeypatch, client, days_ago=days_ago)
    # the next day "90 days ago" is a day later, yet the run picks up where it stopped
    client.update_records = real_update
    text = run_command(monkeypatch, client, days_ago=days_ago - 1)

    assert f"Resuming the unfinished backfill of leads since {SINCE}" in text
    assert "(resumed from the last checkpoint)" in text
    assert "leads scanned: 201" in text
    answered = [client.get("Lead", f"00Q5f{i:010d}AAA")[rules.FIELD_AT] for i in range(500)]
    assert sum(1 for at in answered if at) == 334
    assert BackfillCheckpoint.objects.get().finished_at is not None


def test_a_lead_whose_write_failed_is_written_when_the_run_resumes(monkeypatch):
    from salesforce.client import RecordResult

    monkeypatch.setattr(backfill_service, "CHUNK", 200)
    client = history(500)
    refused = "00Q5f0000000003AAA"  # answered, in the first chunk
    real_update, calls = client.update_records, []

    def refuse_one_then_go_down(sobject, records):
        calls.append(len(records))
        if len(calls) == 2:
            raise ConnectionError("network down")
        results = real_update(sobject, [r for r in records if r["Id"] != refused])
        return [*results, RecordResult(id=refused, success=False, errors=[{"message": "x"}])]

    client.update_records = refuse_one_then_go_down
    with pytest.raises(ConnectionError):
        backfill(client)
    assert client.get("Lead", refused)[rules.FIELD_AT] is None
    # when it runs again, the refused lead is written instead of skipped by the checkpoint
    client.update_records = real_update
    resumed = backfill(client)

    assert resumed.resumed and resumed.failed == 0
    assert client.get("Lead", refused)[rules.FIELD_MINUTES] == 9.0
    assert BackfillCheckpoint.objects.get().leads_scanned == 500


def test_the_command_says_failed_leads_are_written_again(monkeypatch):
    from salesforce.client import RecordResult

    client = history(3)
    monkeypatch.setattr(
        client,
        "update_records",
        lambda sobject, records: [
            RecordResult(id=r["Id"], success=False, errors=[{"message": "locked"}]) for r in records
        ],
    )

    text = run_command(monkeypatch, client, days_ago=(dt.datetime.now(dt.UTC).date() - SINCE).days)

    assert "leads failed: 2 (written again by the next run)" in text
