"""Backoff, circuit breaker and usage accounting, without a server."""

import datetime as dt

import pytest
from django.utils import timezone

from salesforce.client import RetryPolicy
from salesforce.models import ApiUsage, OrgLimitSnapshot
from salesforce.selectors import api_status_get
from salesforce.usage import FLUSH_EVERY_CALLS, CircuitBreaker, UsageRecorder


def test_backoff_doubles_each_attempt_with_jitter_inside_half_to_full():
    policy = RetryPolicy(attempts=5, base_seconds=0.5)

    lows = [policy.delay(attempt, rng=lambda: 0.0) for attempt in range(1, 5)]
    highs = [policy.delay(attempt, rng=lambda: 1.0) for attempt in range(1, 5)]

    assert lows == [0.25, 0.5, 1.0, 2.0]
    assert highs == [0.5, 1.0, 2.0, 4.0]


def test_backoff_is_capped():
    assert RetryPolicy(attempts=20, base_seconds=1.0).delay(15, rng=lambda: 1.0) == 30.0


@pytest.mark.django_db
def test_breaker_opens_after_the_threshold_and_shows_on_healthz(settings):
    settings.SF_CIRCUIT_THRESHOLD = 3
    breaker = CircuitBreaker()

    for _ in range(2):
        breaker.record_failure(reason="query: HTTP 503.")
    assert breaker.blocked() is None
    breaker.record_failure(reason="query: HTTP 503.")

    assert "HTTP 503" in breaker.blocked()
    status = api_status_get()
    assert status["circuit_open"] is True
    assert "HTTP 503" in status["circuit_reason"]


@pytest.mark.django_db
def test_a_success_resets_the_count_of_consecutive_failures(settings):
    settings.SF_CIRCUIT_THRESHOLD = 3
    breaker = CircuitBreaker()

    for _ in range(2):
        breaker.record_failure(reason="x")
    breaker.record_success()
    for _ in range(2):
        breaker.record_failure(reason="x")

    assert breaker.blocked() is None


@pytest.mark.django_db
def test_another_process_sees_the_open_circuit_and_its_close(settings):
    settings.SF_CIRCUIT_THRESHOLD = 1
    opener, other = CircuitBreaker(), CircuitBreaker()
    opener.record_failure(reason="limits: REQUEST_LIMIT_EXCEEDED.")

    assert "REQUEST_LIMIT_EXCEEDED" in other.blocked()

    OrgLimitSnapshot.objects.update(circuit_open_until=timezone.now() - dt.timedelta(seconds=1))
    other.reset()
    assert other.blocked() is None
    other.record_success()
    assert api_status_get()["circuit_open"] is False
    assert OrgLimitSnapshot.objects.get().circuit_open_until is None


@pytest.mark.django_db
def test_usage_is_written_in_batches_not_per_call(django_assert_num_queries):
    recorder = UsageRecorder(clock=lambda: 0.0)

    with django_assert_num_queries(0):
        for _ in range(FLUSH_EVERY_CALLS - 1):
            recorder.record(workload="routing", endpoint="query", ok=True, limit=(5, 100))
    recorder.record(workload="routing", endpoint="composite/sobjects", ok=False)

    rows = {row.endpoint: (row.calls, row.errors) for row in ApiUsage.objects.all()}
    assert rows == {"query": (FLUSH_EVERY_CALLS - 1, 0), "composite/sobjects": (1, 1)}
    snapshot = OrgLimitSnapshot.objects.get()
    assert (snapshot.api_used, snapshot.api_max) == (5, 100)


@pytest.mark.django_db
def test_flushes_add_to_the_hourly_bucket():
    recorder = UsageRecorder(clock=lambda: 0.0)
    for _ in range(3):
        recorder.record(workload="ttfr", endpoint="query", ok=True)
        recorder.flush()

    row = ApiUsage.objects.get()
    assert row.calls == 3
    assert row.hour == timezone.now().replace(minute=0, second=0, microsecond=0)


@pytest.mark.django_db
def test_usage_is_flushed_after_the_time_limit():
    now = [0.0]
    recorder = UsageRecorder(clock=lambda: now[0])
    recorder.record(workload="ttfr", endpoint="query", ok=True)
    assert not ApiUsage.objects.exists()

    now[0] = 11.0
    recorder.record(workload="ttfr", endpoint="query", ok=True)

    assert ApiUsage.objects.get().calls == 2
