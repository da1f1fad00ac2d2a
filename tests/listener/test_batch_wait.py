"""The listener gathers batches briefly at low event rates and longer at high ones."""

import pytest

from salesforce.streaming import BatchWait


def events_at(rate: float, *, seconds: float = 2.0) -> BatchWait:
    """A wait that saw ``rate`` events/s in batches of one every 1/rate seconds."""
    wait = BatchWait()
    for n in range(int(rate * seconds)):
        wait.observe(1, now=100.0 + n / rate)
    return wait


def test_a_quiet_stream_hands_each_lead_on_within_the_short_wait():
    assert events_at(10).seconds(now=102.0) == pytest.approx(0.05)
    assert BatchWait().seconds(now=0.0) == pytest.approx(0.05)


def test_at_100_events_a_second_batches_gather_for_six_tenths_of_a_second():
    assert events_at(100).seconds(now=102.0) == pytest.approx(0.6, abs=0.01)
    assert events_at(400).seconds(now=102.0) == pytest.approx(0.6)


def test_the_wait_grows_with_the_rate_between_the_two():
    assert events_at(20).seconds(now=102.0) < events_at(60).seconds(now=102.0) < 0.6


def test_a_burst_that_ended_no_longer_lengthens_the_wait():
    wait = events_at(200)

    assert wait.seconds(now=110.0) == pytest.approx(0.05)
