"""Metrics aggregated by the database agree with a plain computation over the same leads."""

import datetime as dt
import random

import numpy as np
import pytest
from django.db import connection

from analytics.filters import Filters
from analytics.metrics.aggregates import Percentiles
from analytics.metrics.ttfr import (
    DIMENSIONS,
    by_dimension,
    by_dimensions,
    daily_trend,
    facts_frame,
    histogram_counts,
    ttfr_dashboard,
)
from ttfr.models import LeadFact

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
TEAMS = ["NA", "EMEA", ""]


def seeded_facts(count: int = 150) -> list[LeadFact]:
    rng = random.Random(11)
    facts = [
        LeadFact(
            lead_id=f"00Q{n:015d}",
            created_at=START + dt.timedelta(minutes=rng.randrange(3 * 1440)),
            owner_id=f"0055f00000000{rng.randrange(3):02d}AAA",
            team=rng.choice(TEAMS),
            ttfr_minutes=None if n % 9 == 0 else round(rng.random() ** 2 * 900, 2),
            sla_breached=rng.random() < 0.3,
        )
        for n in range(count)
    ]
    return LeadFact.objects.bulk_create(facts)


def window() -> Filters:
    return Filters(start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 30))


def test_percentiles_interpolate_linearly_like_numpy():
    # given 101 leads with known minutes and one unanswered
    values = [round(random.Random(3).random() * n, 2) for n in range(1, 102)]
    for n, minutes in enumerate([*values, None]):
        LeadFact.objects.create(lead_id=f"00Q{n:015d}", created_at=START, ttfr_minutes=minutes)
    # when the database computes three percentiles in one aggregate
    row = LeadFact.objects.aggregate(p=Percentiles("ttfr_minutes", (0.5, 0.9, 0.95)))
    # then each is numpy's linear interpolation over the answered leads
    assert row["p"] == pytest.approx(list(np.percentile(values, [50, 90, 95])), abs=1e-9)


def test_percentiles_of_nothing_are_none():
    assert LeadFact.objects.aggregate(p=Percentiles("ttfr_minutes", (0.5,)))["p"] is None


def test_percentile_fractions_outside_zero_to_one_are_refused():
    with pytest.raises(ValueError, match="between 0 and 1"):
        Percentiles("ttfr_minutes", (1.5,))


def test_team_table_matches_a_plain_computation():
    # given leads spread over teams, one team blank
    facts = seeded_facts()
    # when the team table is aggregated by the database
    rows = {row[0]: row[1:] for row in by_dimension(facts_frame(window()), "team")}
    # then each team's counts, median, P95 and breach rate are those of its leads
    for team in TEAMS:
        group = [fact for fact in facts if fact.team == team]
        minutes = [fact.ttfr_minutes for fact in group if fact.ttfr_minutes is not None]
        leads, responded, median, p95, breach = rows[team or "(none)"]
        assert (leads, responded) == (len(group), len(minutes))
        assert median == pytest.approx(np.percentile(minutes, 50), abs=0.006)
        assert p95 == pytest.approx(np.percentile(minutes, 95), abs=0.006)
        assert breach == round(sum(fact.sla_breached for fact in group) / len(group), 4)


def test_daily_trend_is_per_utc_day_oldest_first():
    facts = seeded_facts()

    days, medians, breaches = daily_trend(facts_frame(window()))

    assert days == ["2026-11-02", "2026-11-03", "2026-11-04"]
    first = [fact for fact in facts if fact.created_at.date() == dt.date(2026, 11, 2)]
    answered = [fact.ttfr_minutes for fact in first if fact.ttfr_minutes is not None]
    assert medians[0] == pytest.approx(np.median(answered), abs=0.006)
    assert breaches[0] == round(100 * sum(f.sla_breached for f in first) / len(first), 2)


def test_histogram_is_numpy_histogram_of_minutes_clipped_at_the_99th_percentile():
    facts = seeded_facts()
    minutes = np.array([fact.ttfr_minutes for fact in facts if fact.ttfr_minutes is not None])
    cap = max(float(np.percentile(minutes, 99)), 1.0)
    expected, edges = np.histogram(minutes.clip(max=cap), bins=30, range=(0.0, cap))

    counts, labels = histogram_counts(facts_frame(window()))

    assert counts == [int(n) for n in expected]
    assert labels == pytest.approx([round(float(e), 2) for e in edges], abs=0.011)


def test_ttfr_page_costs_the_same_queries_whatever_the_volume(django_assert_num_queries):
    # given a few hundred leads
    seeded_facts(300)
    # when the page is built
    # then the database answers in a fixed number of aggregate queries, not one per lead:
    # summary, decay and the histogram cap in one; bins; days; the five dimensions (one
    # GROUPING SETS scan on PostgreSQL, one query each elsewhere)
    with django_assert_num_queries(4 if connection.vendor == "postgresql" else 8):
        board = ttfr_dashboard(window(), sla_minutes=60)
    assert dict(board.kpis)["Leads"] == 300


def test_all_dimension_tables_at_once_equal_each_table_on_its_own():
    # given leads with blank and repeated values in every dimension
    facts = seeded_facts(200)
    for n, fact in enumerate(facts):
        fact.segment = ["SMB", "MM", ""][n % 3]
        fact.region = ["NA", "EMEA"][n % 2]
        fact.lead_source = ["Web", "", "Event", "Partner"][n % 4]
    LeadFact.objects.bulk_update(facts, ["segment", "region", "lead_source"])
    frame = facts_frame(window())
    # when every table is built at once (PostgreSQL: GROUPING SETS in one scan)
    tables = by_dimensions(frame, DIMENSIONS)
    # then each equals the table built on its own, row for row and in order
    assert tables == {dimension: by_dimension(frame, dimension) for dimension in DIMENSIONS}
    assert "(none)" in {row[0] for row in tables["segment"]}
    assert sum(row[1] for row in tables["lead_source"]) == 200
