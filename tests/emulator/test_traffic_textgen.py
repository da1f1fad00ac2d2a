"""Synthetic leads: reproducible, realistic spread, noisy fields, ground truth that follows the rules."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from pathlib import Path

import pytest

from sf_emulator.schema import SCHEMA
from sf_emulator.textgen import COUNTRIES, INTENTS, REGIONS, LeadFactory, segment_for
from sf_emulator.traffic import Behaviour, after_working_minutes, response_delay

ISO2 = {country.iso2: country for country in COUNTRIES}
TEMPLATES = Path(__file__).resolve().parents[2] / "config" / "templates.json"
REP_BERLIN = {
    "time_zone": "Europe/Berlin",
    "working_hours": {"start": "08:00", "end": "18:00", "days": [0, 1, 2, 3, 4]},
}


@pytest.fixture(scope="module")
def thousand_leads():
    factory = LeadFactory(seed=42)
    return [factory.lead() for _ in range(1000)]


def test_same_seed_gives_the_same_leads_in_the_same_order():
    first, second = LeadFactory(seed=7), LeadFactory(seed=7)

    leads_a = [first.lead() for _ in range(50)]
    leads_b = [second.lead() for _ in range(50)]

    assert leads_a == leads_b
    assert [lead.fields for lead in leads_a] != [
        LeadFactory(seed=8).lead().fields for _ in range(50)
    ]


def test_thousand_leads_cover_every_intent_region_and_segment(thousand_leads):
    truths = [lead.truth for lead in thousand_leads]

    assert {truth.intent for truth in truths} == set(INTENTS)
    assert set(REGIONS) <= {truth.region for truth in truths}
    assert {"SMB", "MM", "ENT", "UNKNOWN"} == {truth.segment for truth in truths}
    regions = Counter(truth.region for truth in truths)
    assert regions["NA"] + regions["EMEA"] > 500


def test_employee_counts_are_heavy_tailed_with_missing_and_garbage(thousand_leads):
    counts = [lead.truth.employees for lead in thousand_leads if lead.truth.employees]
    missing = [lead for lead in thousand_leads if lead.truth.employees is None]
    garbage = [
        lead
        for lead in thousand_leads
        if lead.truth.employees is not None and lead.fields["NumberOfEmployees"] is None
    ]

    assert 20 <= len(missing) <= 90
    assert all(lead.truth.segment == "UNKNOWN" for lead in missing)
    assert 5 <= len(garbage) <= 45
    for lead in garbage:
        assert f"about {lead.truth.employees} people" in str(lead.fields["Description"])
        assert lead.truth.segment == segment_for(lead.truth.employees)
    assert max(counts) > 10_000 and sorted(counts)[len(counts) // 2] < 300


def test_countries_come_as_names_codes_aliases_and_blanks(thousand_leads):
    shown = [lead.fields["Country"] for lead in thousand_leads]
    texts = {str(value) for value in shown if value}

    assert any(value is None for value in shown)
    assert {"USA", "UK"} & texts and "US" in texts
    assert any(len(text) == 3 and text.isupper() for text in texts)
    assert any(text.islower() for text in texts)
    for lead in thousand_leads:
        if lead.fields["Country"] is None:
            assert lead.truth.region == "UNKNOWN"
        else:
            assert lead.truth.region == ISO2[str(lead.truth.country_iso2)].region


def test_some_country_names_carry_a_typo(thousand_leads):
    known = {
        form.lower()
        for country in COUNTRIES
        for form in (country.name, country.iso2, country.iso3, *country.aliases)
    }
    typos = [
        lead
        for lead in thousand_leads
        if lead.fields["Country"] and lead.fields["Country"].lower() not in known
    ]

    assert 10 <= len(typos) <= 60
    for lead in typos:
        name = ISO2[str(lead.truth.country_iso2)].name
        assert abs(len(lead.fields["Country"]) - len(name)) <= 1
        assert lead.fields["Country"][0] == name[0]


def test_every_intent_of_the_shipped_templates_is_generated():
    templates = json.loads(TEMPLATES.read_text())["templates"]

    assert {template["intent"] for template in templates} == set(INTENTS)


def test_lead_sources_and_industries_are_the_orgs_picklist_values(thousand_leads):
    picklist = {name: SCHEMA["Lead"][name].picklist_values for name in ("LeadSource", "Industry")}
    sources = Counter(lead.fields["LeadSource"] for lead in thousand_leads)
    industries = Counter(lead.fields["Industry"] for lead in thousand_leads)

    assert set(sources) == set(picklist["LeadSource"])
    assert {"Trade Show", "Webinar"} <= set(sources)
    assert sources["Web"] == max(sources.values())
    assert set(industries) - {None} == set(picklist["Industry"])
    assert 30 <= industries[None] <= 140


def test_western_asia_and_africa_are_mea_and_the_caribbean_latam():
    regions = {country.iso2: country.region for country in COUNTRIES}

    assert regions["TR"] == regions["IL"] == regions["AE"] == regions["ZA"] == "MEA"
    assert regions["DO"] == regions["MX"] == regions["BR"] == "LATAM"
    assert regions["JP"] == regions["AU"] == "APAC"
    assert regions["DE"] == "EMEA" and regions["CA"] == "NA"


def test_inquiries_include_other_languages_and_mixed_intents(thousand_leads):
    texts = [str(lead.fields["Description"]) for lead in thousand_leads]

    assert any("Angebot" in text or "Kunde" in text for text in texts)
    assert any("usuários" in text or "clientes" in text for text in texts)
    assert any("utilisateurs" in text or "démo" in text for text in texts)
    mixed = [lead for lead in thousand_leads if lead.truth.secondary_intent]
    assert 50 <= len(mixed) <= 200
    assert all(lead.truth.secondary_intent != lead.truth.intent for lead in mixed)


def test_segments_follow_the_routing_policy_bounds():
    assert [segment_for(n) for n in (None, 0, 1, 199, 200, 999, 1000)] == [
        "UNKNOWN",
        "UNKNOWN",
        "SMB",
        "SMB",
        "MM",
        "MM",
        "ENT",
    ]


def test_work_started_after_hours_finishes_next_morning():
    friday_evening = dt.datetime(2026, 11, 27, 19, 0, tzinfo=dt.UTC)  # 20:00 in Berlin

    done = after_working_minutes(rep=REP_BERLIN, start=friday_evening, minutes=30)

    assert done == dt.datetime(2026, 11, 30, 7, 30, tzinfo=dt.UTC)  # Monday 08:30 Berlin


def test_work_spanning_closing_time_continues_the_next_day():
    tuesday_late = dt.datetime(2026, 11, 24, 16, 30, tzinfo=dt.UTC)  # 17:30 in Berlin

    done = after_working_minutes(rep=REP_BERLIN, start=tuesday_late, minutes=60)

    assert done == dt.datetime(2026, 11, 25, 7, 30, tzinfo=dt.UTC)


def test_response_delays_are_heavy_tailed():
    behaviour = Behaviour(business_hours=False)
    rnd = random.Random(1)
    start = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)

    minutes = sorted(
        response_delay(rep=REP_BERLIN, start=start, rnd=rnd, behaviour=behaviour).total_seconds()
        / 60
        for _ in range(500)
    )

    median, p95 = minutes[250], minutes[475]
    assert 15 < median < 40
    assert p95 > 4 * median
