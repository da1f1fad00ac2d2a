"""`manage.py listen --polling` with a real cluster: the same routing, exactly once across a
SIGKILL and a restart, from SOQL polling on SystemModstamp with a durable watermark."""

from __future__ import annotations

import threading
import time

import pytest

from salesforce.models import ChangeEvent, ReplayPosition
from tests.integration.checks import first_leads_routed_and_listener_healthy
from tests.processes import wait_for, wait_for_output

pytestmark = pytest.mark.integration  # `make test` runs a file on one worker (--dist loadfile)

POLLING = ("--polling", "--poll-interval", "0.5")
ACTIVE = "active listener (polling)"


def test_polling_routes_leads_within_seconds(org, start_listener, client):
    listener = start_listener(*POLLING)
    wait_for_output(listener, ACTIVE, timeout=40)

    first_leads_routed_and_listener_healthy(org, client, mode="polling", within=15)
    assert ReplayPosition.objects.get(channel="poll:Lead").watermark is not None


def test_polling_listener_killed_and_restarted_routes_every_lead_exactly_once(org, start_listener):
    first = start_listener(*POLLING)
    wait_for_output(first, ACTIVE, timeout=40)
    leads: list[str] = []

    def create_stream() -> None:
        for n in range(10):
            leads.extend(org.create_leads(2, prefix=f"Stream {n}"))
            time.sleep(0.15)

    producer = threading.Thread(target=create_stream)
    producer.start()
    wait_for(
        lambda: ChangeEvent.objects.filter(entity="Lead", source="poll").count() >= 4,
        timeout=20,
        message="some leads polled",
    )
    first.kill()
    producer.join()
    leads += org.create_leads(4, prefix="While down")

    second = start_listener(*POLLING)
    wait_for_output(second, ACTIVE, timeout=40)  # after the dead holder's lease expires
    leads += org.create_leads(2, prefix="After restart")

    wait_for(lambda: org.routed(leads), timeout=40, message="every lead routed")
    assert org.owner_write_counts(leads) == {1}
