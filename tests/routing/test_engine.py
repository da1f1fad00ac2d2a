"""The rules engine on the default policy: segments, garbage input, overrides, distribution."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter

import pytest

from routing.engine.classify import classify
from routing.engine.distribute import RepHours
from routing.engine.employees import parse_employees
from routing.engine.policy import compile_snapshot, smooth_weighted_sequence
from routing.engine.route import route_classified, route_from_answer
from tests.routing.conftest import WORKDAY, always_available, make_distributor

TRIAGE = "00G5f0000000007EAA"
ENTERPRISE_DESK = "00G5f0000000006EAA"
NA_INBOUND = "00G5f0000000001EAA"


@pytest.mark.parametrize(
    ("employees", "segment"),
    [
        (1, "SMB"),
        (199, "SMB"),
        (200, "MM"),
        (999, "MM"),
        (1000, "ENT"),
        (250_000, "ENT"),
        ("1,250", "ENT"),
        ("199", "SMB"),
        (200.0, "MM"),
        ("  42 ", "SMB"),
    ],
)
def test_segment_boundaries(policy, employees, segment):
    result = classify(policy, {"NumberOfEmployees": employees, "Country": "US"})

    assert result.segment == segment
    assert not result.ambiguous


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (None, "employee count missing"),
        ("", "employee count missing"),
        (-5, "negative"),
        ("-40", "negative"),
        ("lots", "non-numeric"),
        ("about 500", "non-numeric"),
        ("1.5k", "non-numeric"),
        (12.5, "non-integer"),
        (10**12, "implausible"),
        ("99999999999", "implausible"),
        (True, "non-numeric"),
        (0, "fits no segment"),
    ],
)
def test_garbage_employee_counts_are_ambiguous_not_guessed(policy, raw, problem):
    result = classify(policy, {"NumberOfEmployees": raw, "Country": "Germany"})

    assert result.segment == "UNKNOWN"
    assert result.ambiguous
    assert problem in " ".join(result.problems)
    assert result.confidence <= 0.3


def test_grouped_thousands_are_read_but_lower_confidence():
    assert parse_employees("1,250").value == 1250
    assert parse_employees("1 250").value == 1250
    assert parse_employees("1,250").exact is False


def test_explanation_names_the_numbers_and_the_spelling(policy):
    routed = route_classified(
        classify(policy, {"NumberOfEmployees": 1250, "Country": "Deutschland"}),
        make_distributor(policy),
    )

    assert routed.explanation().startswith(
        "ENT because 1,250 employees; EMEA because 'Deutschland' = DE"
    )
    assert routed.output()["region"] == "EMEA"


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"NumberOfEmployees": 50}, "country missing"),
        ({"NumberOfEmployees": 50, "Country": "Atlantis"}, "unknown country"),
        ({"NumberOfEmployees": 50, "Country": "US / Canada"}, "conflicting countries"),
        ({"NumberOfEmployees": 50, "CountryCode": "ZZ"}, "unknown CountryCode"),
    ],
)
def test_unknown_or_conflicting_country_is_ambiguous(policy, fields, problem):
    result = classify(policy, fields)

    assert result.region == "UNKNOWN"
    assert problem in result.problems[0]


def test_country_code_wins_over_country_text(policy):
    result = classify(policy, {"NumberOfEmployees": 50, "CountryCode": "br", "Country": "France"})

    assert (result.country, result.region) == ("BR", "LATAM")
    assert "CountryCode BR" in result.reasons[1]


@pytest.mark.parametrize(
    ("fields", "segment", "pool", "priority"),
    [
        ({"Industry": "Banking", "NumberOfEmployees": 20, "Country": "US"}, "ENT", None, True),
        ({"Industry": "  insurance ", "NumberOfEmployees": 20, "Country": "US"}, "ENT", None, True),
        ({"Industry": "Retail", "NumberOfEmployees": 20, "Country": "US"}, "SMB", None, False),
        (
            {"LeadSource": "Partner Referral", "NumberOfEmployees": 20, "Country": "US"},
            "SMB",
            "Enterprise Desk",
            False,
        ),
        (
            {"Industry": "Government", "NumberOfEmployees": "n/a", "Country": "US"},
            "ENT",
            None,
            True,
        ),
    ],
)
def test_override_rules(policy, fields, segment, pool, priority):
    result = classify(policy, fields)

    assert (result.segment, result.pool, result.priority) == (segment, pool, priority)
    assert not result.ambiguous


def test_override_rule_settles_an_unknown_segment_and_routes_to_enterprise_reps(policy):
    routed = route_classified(
        classify(policy, {"Industry": "Healthcare", "Country": "France"}), make_distributor(policy)
    )

    assert routed.choice.reason.startswith("pool ENT EMEA")
    assert "priority because of rule 'Priority industries'" in routed.explanation()


def test_rules_that_disagree_make_the_lead_ambiguous(policy):
    data = dict(policy.__dict__)
    extra = dataclasses.replace(policy.overrides[0], name="Banks are SMB", set_segment="SMB")
    data["overrides"] = (*policy.overrides, extra)
    disagreeing = dataclasses.replace(policy, overrides=data["overrides"])

    result = classify(disagreeing, {"Industry": "Banking", "NumberOfEmployees": 5, "Country": "US"})

    assert result.ambiguous
    assert "rules disagree" in result.problems[0]


def test_round_robin_is_fair_over_1000_leads(policy):
    distributor = make_distributor(policy)
    pool = policy.pools_by_name["SMB NA"]

    owners = Counter(distributor.choose(pool).owner_id for _ in range(1000))

    assert set(owners) == {m.user_id for m in pool.members}
    assert max(owners.values()) - min(owners.values()) <= 1


def test_weighted_pool_follows_the_weights(policy):
    distributor = make_distributor(policy)
    pool = policy.pools_by_name["MM NA"]

    owners = Counter(distributor.choose(pool).owner_id for _ in range(700))

    by_weight = {m.user_id: m.weight for m in pool.members}
    total = sum(by_weight.values())
    for user_id, weight in by_weight.items():
        assert owners[user_id] == 700 * weight // total


def test_smooth_weights_interleave():
    assert smooth_weighted_sequence([5, 1, 1]) == (0, 0, 1, 0, 2, 0, 0)


def test_capacity_cap_picks_the_least_loaded_then_falls_to_the_queue(policy):
    pool = policy.pools_by_name["ENT NA"]
    first, second = (m.user_id for m in pool.members)
    distributor = make_distributor(policy, open_leads={first: 24, second: 20})

    owners = [distributor.choose(pool).owner_id for _ in range(7)]

    assert Counter(owners) == Counter({second: 5, first: 1, ENTERPRISE_DESK: 1})
    assert "at capacity" in distributor.choose(pool).reason


def test_reps_outside_working_hours_are_skipped(policy):
    pool = policy.pools_by_name["SMB NA"]
    reps = {
        m.user_id: RepHours("America/New_York", dt.time(8), dt.time(18), frozenset(range(5)))
        for m in pool.members
    }
    reps[pool.members[0].user_id] = RepHours(
        "Asia/Tokyo", dt.time(8), dt.time(18), frozenset(range(5))
    )
    distributor = make_distributor(policy, reps=reps, now=WORKDAY)

    owners = {distributor.choose(pool).owner_id for _ in range(30)}

    assert pool.members[0].user_id not in owners
    assert len(owners) == len(pool.members) - 1


def test_nobody_at_work_sends_the_lead_to_the_pool_queue(policy):
    pool = policy.pools_by_name["SMB NA"]
    saturday = dt.datetime(2026, 11, 28, 15, 0, tzinfo=dt.UTC)
    reps = {
        m.user_id: RepHours("America/New_York", dt.time(8), dt.time(18), frozenset(range(5)))
        for m in pool.members
    }

    choice = make_distributor(policy, reps=reps, now=saturday).choose(pool)

    assert choice.owner_id == NA_INBOUND
    assert "3 outside working hours" in choice.reason


def test_out_of_office_reps_are_skipped_until_they_return(policy):
    pool = policy.pools_by_name["SMB NA"]
    away = pool.members[1].user_id
    reps = {m.user_id: always_available() for m in pool.members}
    reps[away] = dataclasses.replace(
        always_available(), out_of_office=True, out_of_office_until=WORKDAY + dt.timedelta(hours=1)
    )

    today = {make_distributor(policy, reps=reps).choose(pool).owner_id for _ in range(10)}
    later = make_distributor(policy, reps=reps, now=WORKDAY + dt.timedelta(hours=2))

    assert away not in today
    assert away in {later.choose(pool).owner_id for _ in range(10)}


def test_a_cell_without_a_pool_goes_to_the_fallback_queue(policy):
    pools = {cell: p for cell, p in policy.pools_by_cell.items() if cell != ("SMB", "MEA")}
    gapped = dataclasses.replace(policy, pools_by_cell=pools)

    routed = route_classified(
        classify(gapped, {"NumberOfEmployees": 5, "Country": "Kenya"}), make_distributor(gapped)
    )

    assert routed.owner_id == TRIAGE
    assert "no pool for SMB x MEA → fallback queue Lead Triage" in routed.explanation()


def test_compiled_policy_matches_its_snapshot(loaded_policy):
    compiled = compile_snapshot(loaded_policy.snapshot)

    assert compiled.version == loaded_policy.version
    assert len(compiled.pools_by_cell) == 15
    assert compiled.lookup["deutschland"] == "DE"


def test_llm_answer_settles_an_ambiguous_lead_into_a_pool(policy):
    cls = classify(policy, {"NumberOfEmployees": "about 500", "Country": "Brasil"})
    answer = {"segment": "MM", "region": "LATAM", "reason": "mid-sized firm in Brazil"}

    routed = route_from_answer(cls, answer, make_distributor(policy), decided_by="llm")

    assert routed.choice.pool == "MM LATAM"
    assert (routed.output()["segment"], routed.output()["region"]) == ("MM", "LATAM")
    assert "llm says MM x LATAM: mid-sized firm in Brazil" in routed.explanation()


def test_llm_answer_unknown_goes_to_the_fallback_and_says_so(policy):
    cls = classify(policy, {"Country": "Atlantis"})

    routed = route_from_answer(
        cls,
        {"segment": "UNKNOWN", "region": "UNKNOWN", "reason": "?"},
        make_distributor(policy),
        decided_by="llm",
    )

    assert routed.owner_id == TRIAGE
    assert "llm could not tell → fallback queue Lead Triage" in routed.explanation()
