"""Routing metrics computed by the database: event→owner latency and leads per day."""

import datetime as dt

import pytest
from django.utils import timezone

from analytics.metrics.routing import latency_seconds, leads_per_day
from routing.models import Assignment
from salesforce.models import ChangeEvent

pytestmark = pytest.mark.django_db


def routed_lead(
    number: int, *, committed: dt.datetime, written: dt.datetime | None, stored: bool = True
) -> None:
    """A routed lead; ``stored=False``: an assignment made before the commit time was kept on
    it (only its change event knows)."""
    event = ChangeEvent.objects.create(
        entity="Lead",
        change_type="CREATE",
        record_id=f"00Q{number:015d}",
        commit_timestamp=committed,
    )
    Assignment.objects.create(
        lead_id=f"00Q{number:015d}",
        event_id=event.pk,
        event_committed_at=committed if stored else None,
        status="written",
        written_at=written,
    )


def test_latency_is_commit_to_owner_write_per_routed_lead(django_assert_num_queries):
    # given written leads (one from before commit times were stored on assignments), one
    # unwritten, and an old one whose event is gone
    now = timezone.now()
    routed_lead(1, committed=now, written=now + dt.timedelta(milliseconds=400))
    routed_lead(2, committed=now, written=now + dt.timedelta(seconds=2))
    routed_lead(3, committed=now, written=now + dt.timedelta(seconds=3), stored=False)
    routed_lead(4, committed=now, written=None)
    Assignment.objects.create(lead_id="00Q000000000000009", event_id=999_999, written_at=now)
    # when the latencies are read
    with django_assert_num_queries(1):
        latencies = latency_seconds(Assignment.objects.all())
    # then each written lead with a known commit counts once
    assert sorted(latencies) == [0.4, 2.0, 3.0]


def test_an_owner_written_before_the_commit_time_counts_as_zero():
    now = timezone.now()
    routed_lead(1, committed=now, written=now - dt.timedelta(seconds=1))

    assert latency_seconds(Assignment.objects.all()) == [0.0]


def test_leads_per_day_are_counted_by_utc_day_oldest_first():
    # given assignments on two UTC days, one just before midnight
    for number, at in enumerate(
        [
            dt.datetime(2026, 3, 2, 0, 5, tzinfo=dt.UTC),
            dt.datetime(2026, 3, 1, 23, 59, tzinfo=dt.UTC),
            dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC),
        ]
    ):
        row = Assignment.objects.create(lead_id=f"00Q{number:015d}", status="written")
        Assignment.objects.filter(pk=row.pk).update(created_at=at)
    # when they are counted per day
    # then each UTC day has its count, in date order
    assert leads_per_day(Assignment.objects.all()) == {"2026-03-01": 1, "2026-03-02": 2}
