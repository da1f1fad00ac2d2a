"""Polling watermark edge cases: records sharing a SystemModstamp, a commit stamped before the
watermark, and the app host's clock ahead of or behind Salesforce's (within the overlap, or
minutes off: polling starts on Salesforce's clock)."""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import pytest

from salesforce import listener, runner
from salesforce.dispatch import ROUTE_LEADS
from salesforce.models import ChangeEvent, ReplayPosition
from salesforce.records import parse_sf_datetime
from tests.listener.factories import INTEGRATION_USER, REP
from tests.templates.test_suggestions import create_lead

pytestmark = pytest.mark.django_db
SF_NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)  # Salesforce's clock
SINCE = re.compile(r"SystemModstamp >= (\S+)")


def sf_time(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def lead(lead_id: str, *, at: dt.datetime) -> dict:
    """A lead created by a rep at ``at`` (Salesforce time), unchanged since."""
    return {
        "attributes": {"type": "Lead"},
        "Id": lead_id,
        "LastName": "Doe",
        "Company": "Acme",
        "OwnerId": "00G5f0000000007EAA",
        "CreatedDate": sf_time(at),
        "CreatedById": REP,
        "LastModifiedDate": sf_time(at),
        "LastModifiedById": REP,
        "SystemModstamp": sf_time(at),
    }


class Org:
    """Leads visible to SOQL, filtered on SystemModstamp as Salesforce does."""

    def __init__(self) -> None:
        self.leads: list[dict] = []

    def query_all(self, soql: str) -> list[dict]:
        if " FROM Lead " not in soql:
            return []
        since = parse_sf_datetime(SINCE.search(soql).group(1))
        rows = [r for r in self.leads if parse_sf_datetime(r["SystemModstamp"]) >= since]
        return sorted(rows, key=lambda r: (r["SystemModstamp"], r["Id"]))


@pytest.fixture
def routed(monkeypatch) -> list[str]:
    """Lead ids handed to routing, in order."""
    calls: list[str] = []

    def enqueue(path: str, plan: dict[str, list[int]], **_: object) -> None:
        ids = plan.get(ROUTE_LEADS, [])
        calls.extend(ChangeEvent.objects.filter(id__in=ids).values_list("record_id", flat=True))

    monkeypatch.setattr("salesforce.inbox.async_task", enqueue)
    return calls


def poll(org: Org, state: listener.PollState, *, app_start: dt.datetime) -> int:
    return listener.poll_once(
        client=org, integration_user_id=INTEGRATION_USER, state=state, start=app_start
    )


def test_a_lead_sharing_the_watermarks_timestamp_is_routed_and_the_first_not_again(routed):
    org, state = Org(), listener.PollState()
    stamp = SF_NOW + dt.timedelta(seconds=5)
    org.leads.append(lead("00Q5f000001AaaaEAA", at=stamp))
    poll(org, state, app_start=SF_NOW)
    org.leads.append(lead("00Q5f000001AbbbEAA", at=stamp))  # committed later, same stamp

    poll(org, state, app_start=SF_NOW)

    assert routed == ["00Q5f000001AaaaEAA", "00Q5f000001AbbbEAA"]
    assert ReplayPosition.objects.get(channel="poll:Lead").watermark == stamp


def test_a_commit_stamped_before_the_watermark_within_the_overlap_is_routed(routed):
    org, state = Org(), listener.PollState()
    org.leads.append(lead("00Q5f000001AaaaEAA", at=SF_NOW + dt.timedelta(seconds=40)))
    poll(org, state, app_start=SF_NOW)
    # a long transaction commits now with the time it started: 30 s behind the watermark
    org.leads.append(lead("00Q5f000001AbbbEAA", at=SF_NOW + dt.timedelta(seconds=10)))

    poll(org, state, app_start=SF_NOW)

    assert routed == ["00Q5f000001AaaaEAA", "00Q5f000001AbbbEAA"]
    assert ChangeEvent.objects.get(record_id="00Q5f000001AbbbEAA").change_type == "CREATE"


@pytest.mark.parametrize("skew_seconds", [50, -50, -300])
def test_leads_created_after_start_are_routed_once_despite_clock_skew(routed, skew_seconds):
    """The app's clock runs ``skew_seconds`` ahead of Salesforce's (behind when negative)."""
    org, state = Org(), listener.PollState()
    app_start = SF_NOW + dt.timedelta(seconds=skew_seconds)
    poll(org, state, app_start=app_start)  # an empty first round
    org.leads.append(lead("00Q5f000001AaaaEAA", at=SF_NOW + dt.timedelta(seconds=1)))
    poll(org, state, app_start=app_start)
    org.leads.append(lead("00Q5f000001AbbbEAA", at=SF_NOW + dt.timedelta(seconds=2)))

    poll(org, state, app_start=app_start)
    poll(org, listener.PollState(), app_start=app_start)  # a restart re-reads the overlap

    assert routed[:2] == ["00Q5f000001AaaaEAA", "00Q5f000001AbbbEAA"]
    assert set(routed) == {"00Q5f000001AaaaEAA", "00Q5f000001AbbbEAA"}


class _HostClock(dt.datetime):
    """``datetime`` whose ``now()`` is the app host's clock, ``skew`` off the true time."""

    skew = dt.timedelta()

    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> dt.datetime:  # type: ignore[override]
        return dt.datetime.now(tz) + cls.skew


def host_clock_off(monkeypatch, skew: dt.timedelta) -> None:
    """The listener's modules read a host clock ``skew`` off Salesforce's (the emulator's)."""
    monkeypatch.setattr(_HostClock, "skew", skew)
    clock = SimpleNamespace(datetime=_HostClock, UTC=dt.UTC, timedelta=dt.timedelta)
    for module in (listener, runner):
        monkeypatch.setattr(module, "dt", clock)


@pytest.mark.parametrize("skew_minutes", [5, -5])
def test_polling_starts_on_salesforces_clock_so_a_host_minutes_off_misses_no_lead(
    sf_settings, routed, monkeypatch, skew_minutes
):
    # given the app host's clock runs minutes off Salesforce's, and polling starts on this org
    host_clock_off(monkeypatch, dt.timedelta(minutes=skew_minutes))
    monkeypatch.setattr(runner, "close_old_connections", lambda: None)  # the test's transaction
    polling, state = runner.Listener(runner.ListenOptions(polling=True)), listener.PollState()
    polling._poll_round(state)

    # when a rep creates a lead before each of the next two rounds
    first = create_lead(sf_settings)
    polling._poll_round(state)
    second = create_lead(sf_settings)
    polling._poll_round(state)

    # then both are routed, once each, and polling started on Salesforce's clock
    assert [lead for lead in routed if lead in (first, second)] == [first, second]
    assert abs(polling.poll_start - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=10)
