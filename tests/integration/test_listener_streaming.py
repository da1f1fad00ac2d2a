"""`manage.py listen` over CDC with a real cluster: leads are routed within seconds and exactly
once through crashes, duplicates, gaps, an expired replay id and a standby takeover."""

from __future__ import annotations

import threading
import time

import pytest

from salesforce.models import ChangeEvent, ListenerLease
from tests.integration.checks import first_leads_routed_and_listener_healthy
from tests.processes import wait_for, wait_for_output

pytestmark = pytest.mark.integration  # `make test` runs a file on one worker (--dist loadfile)

SUBSCRIBED = "subscribed to /data/LeadChangeEvent"


def test_leads_created_in_the_org_get_an_owner_within_seconds(org, start_listener, client):
    listener = start_listener()
    wait_for_output(listener, SUBSCRIBED, timeout=40)

    health = first_leads_routed_and_listener_healthy(org, client, mode="streaming", within=10)
    assert health["events_per_min"] >= 5
    assert health["last_replay_id"] >= 5


def test_listener_killed_mid_stream_and_restarted_routes_every_lead_exactly_once(
    org, start_listener
):
    org.stream(duplicate_rate=0.3)
    first = start_listener("--batch-size", "3")
    wait_for_output(first, SUBSCRIBED, timeout=40)
    leads: list[str] = []

    def create_stream() -> None:
        for n in range(12):
            leads.extend(org.create_leads(2, prefix=f"Stream {n}"))
            time.sleep(0.1)  # a steady trickle, so the kill lands between deliveries

    producer = threading.Thread(target=create_stream)
    producer.start()
    wait_for(
        lambda: ChangeEvent.objects.filter(entity="Lead", change_type="CREATE").count() >= 4,
        timeout=20,
        message="some leads stored",
    )
    first.kill()
    producer.join()
    leads += org.create_leads(4, prefix="While down")

    second = start_listener()
    wait_for_output(second, SUBSCRIBED, timeout=40)  # after the dead holder's lease expires
    leads += org.create_leads(2, prefix="After restart")

    wait_for(lambda: org.routed(leads), timeout=40, message="every lead routed")
    assert org.owner_write_counts(leads) == {1}
    assert ChangeEvent.objects.filter(entity="Lead", change_type="CREATE").count() == len(leads)


def test_a_first_listener_killed_before_any_event_loses_nothing_created_while_down(
    org, start_listener
):
    first = start_listener()
    wait_for_output(first, SUBSCRIBED, timeout=40)
    time.sleep(1.5)  # subscribed, no event on any channel yet
    first.kill()
    leads = org.create_leads(3, prefix="While the first listener was down")

    second = start_listener()
    wait_for_output(second, SUBSCRIBED, timeout=40)

    wait_for(lambda: org.routed(leads), timeout=40, message="the leads created while down routed")
    assert org.owner_write_counts(leads) == {1}
    reconciled = ChangeEvent.objects.filter(entity="Lead", source="reconcile")
    assert set(reconciled.values_list("record_id", flat=True)) >= set(leads)


def test_gap_events_and_an_expired_replay_id_are_reconciled(org, start_listener):
    listener = start_listener()
    wait_for_output(listener, SUBSCRIBED, timeout=40)

    org.stream(gap_next=2)
    gapped = org.create_leads(2, prefix="Gap")  # arrive as GAP_CREATE: a header, no fields
    wait_for(lambda: org.routed(gapped), timeout=20, message="gapped leads routed")
    assert ChangeEvent.objects.filter(record_id__in=gapped, source="reconcile").count() == 2
    assert "gap event" in ListenerLease.objects.get().notice

    assert listener.terminate() == 0  # graceful: its replay ids are stored
    missed = org.create_leads(3, prefix="Missed")
    org.stream(retention_hours=0.0001)  # a third of a second: the stored replay id expires
    wait_for(
        lambda: (s := org.stream())["oldest_replayable_id"] >= s["last_replay_id"],
        timeout=10,
        message="the retained events expired",
    )
    org.stream(retention_hours=72)

    restarted = start_listener()
    wait_for_output(restarted, SUBSCRIBED, timeout=40)
    wait_for(lambda: org.routed(missed), timeout=20, message="missed leads reconciled")
    assert "replay id was rejected" in ListenerLease.objects.get().notice
    assert org.owner_write_counts(gapped + missed) == {1}

    fresh = org.create_leads(1, prefix="Live again")
    wait_for(lambda: org.routed(fresh), timeout=15, message="live events flow again")


def test_a_standby_listener_takes_over_within_ten_seconds_of_a_sigkill(org, start_listener):
    active = start_listener()
    wait_for_output(active, SUBSCRIBED, timeout=40)
    standby = start_listener()
    wait_for_output(standby, "standby:", timeout=40)
    assert SUBSCRIBED not in standby.output()

    active.kill()
    killed_at = time.monotonic()
    wait_for_output(standby, SUBSCRIBED, timeout=15)
    assert time.monotonic() - killed_at < 10

    leads = org.create_leads(3, prefix="After takeover")
    wait_for(lambda: org.routed(leads), timeout=15, message="leads routed by the new holder")
    assert org.owner_write_counts(leads) == {1}


def test_a_refused_stream_falls_back_to_polling_and_comes_back(org, start_listener):
    listener = start_listener(
        "--fallback-after", "2", "--stream-retry-minutes", "0.25", "--poll-interval", "0.5"
    )
    wait_for_output(listener, SUBSCRIBED, timeout=40)
    streamed = org.create_leads(2, prefix="Streamed")
    wait_for(lambda: org.routed(streamed), timeout=15, message="streamed leads routed")

    # Given an org that starts denying every CometD handshake (a streaming limit reached)
    org.stream(refuse_handshake="403::Organization concurrent user limit exceeded")
    refused = org.create_leads(3, prefix="Refused")

    # Then the listener polls from where the stream stopped: nothing is missed
    wait_for_output(listener, "polling Salesforce every 0.5 s instead", timeout=30)
    wait_for(lambda: org.routed(refused), timeout=20, message="leads routed by polling")
    lease = ListenerLease.objects.get()
    assert lease.mode == "polling"
    assert "concurrent user limit exceeded" in lease.notice
    polled = ChangeEvent.objects.filter(record_id__in=refused, source="poll")
    assert polled.values("record_id").distinct().count() == 3

    # And once the limit is lifted it streams again at the next retry
    org.stream(refuse_handshake=None)
    wait_for_output(listener, SUBSCRIBED, count=2, timeout=40)
    again = org.create_leads(2, prefix="Streaming again")
    wait_for(lambda: org.routed(again), timeout=15, message="leads routed by the stream again")
    assert ListenerLease.objects.get().mode == "streaming"
    assert org.owner_write_counts(streamed + refused + again) == {1}


def test_an_object_not_selected_for_cdc_is_polled_beside_the_stream(org, start_listener):
    # Given an org whose admin selected Task and EmailMessage for CDC, but not Lead
    org.stream(selected_entities=["Task", "EmailMessage"])

    listener = start_listener("--poll-interval", "0.5")
    wait_for_output(listener, SUBSCRIBED, timeout=40)
    wait_for_output(listener, "not selected for Lead in Salesforce: polling it every 0.5 s")
    leads = org.create_leads(3, prefix="Not streamed")

    # Then its leads are routed from polling, once each
    wait_for(lambda: org.routed(leads), timeout=20, message="leads routed by polling")
    assert org.owner_write_counts(leads) == {1}
    assert set(
        ChangeEvent.objects.filter(record_id__in=leads).values_list("source", flat=True)
    ) == {"poll"}
    assert "not selected for Lead" in ListenerLease.objects.get().notice
