"""Checks shared by the listener integration tests (streaming and polling)."""

from __future__ import annotations

from salesforce.selectors import listener_status_get
from tests.processes import wait_for


def first_leads_routed_and_listener_healthy(org, client, *, mode: str, within: float) -> dict:
    """Five new leads get an owner within ``within`` seconds, written once each, and /healthz
    shows the running listener in ``mode`` with a lag under ``within``; returns its status."""
    leads = org.create_leads(5)
    wait_for(lambda: org.routed(leads), timeout=within, message=f"owners written within {within} s")

    assert org.owner_write_counts(leads) == {1}
    wait_for(
        lambda: listener_status_get()["lag_seconds"] is not None,
        timeout=10,
        message="a heartbeat with the lag",
    )
    health = client.get("/healthz").json()["listener"]
    assert health["state"] == "running" and health["mode"] == mode
    assert 0 <= health["lag_seconds"] < within
    return health
