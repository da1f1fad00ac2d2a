"""TTFR metrics against hand-computed fixtures."""

import datetime as dt

import pytest

from analytics.filters import Filters
from analytics.metrics.ttfr import decay_curve, facts_frame, summary, ttfr_dashboard
from ttfr.models import LeadFact

pytestmark = pytest.mark.django_db
DAY = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
OWNER_A = "0055f0000000001AAA"
OWNER_B = "0055f0000000002AAA"


def fact(
    n: int,
    minutes: float | None,
    *,
    owner=OWNER_A,
    business=None,
    breached=False,
    raw=False,
    converted=False,
    segment="SMB",
    region="NA",
    deleted=False,
):
    return LeadFact.objects.create(
        lead_id=f"00Q5f00000{n:05d}AAA"[:18],
        created_at=DAY + dt.timedelta(hours=n % 5),
        owner_id=owner,
        team="NA",
        segment=segment,
        region=region,
        lead_source="Web",
        ttfr_minutes=minutes,
        business_minutes=business if business is not None else minutes,
        sla_breached=breached,
        sla_breached_raw=raw,
        is_converted=converted,
        is_deleted=deleted,
    )


def window() -> Filters:
    return Filters(start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 30))


def test_median_p95_max_and_breach_rates_match_hand_computation():
    for n, minutes in enumerate([1, 2, 3, 4, 100], start=1):
        fact(n, minutes, breached=minutes > 60, raw=minutes > 60)
    fact(6, None, breached=True, raw=True)  # never answered: counts as breached
    fact(7, 5, deleted=True)  # deleted leads are not counted

    figures = summary(facts_frame(window()))

    assert figures["leads"] == 6
    assert figures["responded"] == 5
    assert figures["median_minutes"] == 3
    assert figures["p95_minutes"] == pytest.approx(80.8)  # 4 + 0.8 * (100 - 4)
    assert figures["max_minutes"] == 100
    assert figures["sla_breach_rate"] == pytest.approx(2 / 6, abs=1e-4)


def test_business_hours_breach_can_differ_from_raw():
    fact(1, 600, business=30, breached=False, raw=True)  # overnight: raw breach, business ok

    figures = summary(facts_frame(window()))

    assert figures["sla_breach_rate"] == 0
    assert figures["sla_breach_rate_raw"] == 1


def test_decay_curve_buckets_conversion_by_response_time():
    fact(1, 2, converted=True)
    fact(2, 3, converted=False)
    fact(3, 45, converted=False)

    rows = {label: (leads, rate) for label, leads, rate in decay_curve(facts_frame(window()))}

    assert rows["<5 min"] == (2, 0.5)
    assert rows["30-60 min"] == (1, 0)
    assert rows[">24 h"] == (0, None)


def test_filters_limit_the_facts():
    fact(1, 10, segment="ENT", owner=OWNER_B)
    fact(2, 20, segment="SMB")

    ent = summary(
        facts_frame(Filters(start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 30), segment="ENT"))
    )
    outside = summary(facts_frame(Filters(start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31))))

    assert ent["leads"] == 1 and ent["median_minutes"] == 10
    assert outside["leads"] == 0 and outside["median_minutes"] is None


def test_empty_dashboard_renders_figures_without_data():
    board = ttfr_dashboard(window(), sla_minutes=60)

    assert board.is_empty
    assert dict(board.kpis)["Leads"] == 0
