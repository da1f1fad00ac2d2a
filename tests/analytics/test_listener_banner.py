"""The dashboard banner tells managers when the figures are not updating, and the TTFR page says
what its number means."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from analytics.metrics.operations import listener_notices
from flywheel_site.roles import MANAGERS
from salesforce import lease
from salesforce.models import ListenerLease

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def manager_client(client):
    user = User.objects.create_user("m", password="pw-long-enough-1")
    user.groups.add(Group.objects.get(name=MANAGERS))
    client.force_login(user)
    return client


def running(mode: str = "streaming") -> None:
    lease.lease_acquire(holder="host:1:abc")
    lease.heartbeat_record(holder="host:1:abc", mode=mode)


def banners(client) -> str:
    html = client.get("/dashboard/").content.decode()
    return " ".join(part.split("</div>")[0] for part in html.split('class="banner"')[1:])


def test_a_listener_that_never_ran_is_reported(manager_client):
    assert "No Salesforce listener has run yet" in banners(manager_client)


def test_a_healthy_streaming_listener_shows_no_banner(manager_client):
    running()

    assert banners(manager_client) == ""


def test_a_listener_whose_heartbeat_stopped_is_down(manager_client):
    running()
    ListenerLease.objects.update(heartbeat_at=timezone.now() - dt.timedelta(minutes=10))

    assert "The Salesforce listener is down (last heartbeat 10 min ago)" in banners(manager_client)


def test_a_released_lease_with_only_standbys_left_is_down(manager_client):
    running()
    lease.lease_release(holder="host:1:abc")

    assert "listener is down" in banners(manager_client)


def test_polling_mode_is_reported(manager_client):
    running(mode="polling")

    assert "polling Salesforce instead of streaming" in banners(manager_client)


def test_a_recent_reconciliation_notice_is_shown_on_every_page(manager_client):
    running()
    lease.notice_record(text="Reconciled 3 gap event(s) from the change stream.")

    for page in ("", "ttfr/", "routing/"):
        html = manager_client.get(f"/dashboard/{page}").content.decode()
        assert "Reconciled 3 gap event(s) from the change stream." in html


def test_a_notice_older_than_a_day_is_no_longer_shown():
    status = {"state": "running", "mode": "streaming", "notice": "2026-10-30 09:00:00 UTC: old"}

    assert listener_notices(status, now=NOW) == []


def test_an_unstamped_notice_is_shown():
    status = {"state": "running", "mode": "streaming", "notice": "something happened"}

    assert listener_notices(status, now=NOW) == ["something happened"]


def test_notice_text_is_escaped(manager_client):
    running()
    lease.notice_record(text="<script>alert(1)</script>")

    html = manager_client.get("/dashboard/").content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_ttfr_page_states_the_definition_and_the_sla(manager_client, settings):
    settings.TTFR_SLA_MINUTES = 45

    html = manager_client.get("/dashboard/ttfr/").content.decode()

    assert "How this is measured: first response = the earliest outbound human touch" in html
    assert "SLA: 45 business minutes" in html
    assert "the earliest outbound human touch on the lead at or after its creation" in html
    assert "a later touch never replaces it" in html


def test_other_pages_do_not_carry_the_ttfr_definition(manager_client):
    html = manager_client.get("/dashboard/routing/").content.decode()

    assert "How this is measured" not in html
