"""Country spellings from real lead data resolve to the right ISO code and region."""

from __future__ import annotations

import json

import pycountry
import pytest

from routing.countries import DEFAULT_ALIASES, build_lookup, default_country_regions, resolve
from tests.routing.conftest import CONFIG

REGIONS = default_country_regions()
LOOKUP = build_lookup(aliases=DEFAULT_ALIASES, countries=REGIONS)

SPELLINGS = [
    # NA
    ("USA", "US", "NA"),
    ("U.S.", "US", "NA"),
    ("u.s.a.", "US", "NA"),
    ("United States", "US", "NA"),
    ("united states of america", "US", "NA"),
    ("US", "US", "NA"),
    ("usa ", "US", "NA"),
    ("Canada", "CA", "NA"),
    ("CAN", "CA", "NA"),
    ("ca", "CA", "NA"),
    ("Bermuda", "BM", "NA"),
    # EMEA
    ("UK", "GB", "EMEA"),
    ("U.K.", "GB", "EMEA"),
    ("Great Britain", "GB", "EMEA"),
    ("United Kingdom", "GB", "EMEA"),
    ("England", "GB", "EMEA"),
    ("GBR", "GB", "EMEA"),
    ("Deutschland", "DE", "EMEA"),
    ("Germany", "DE", "EMEA"),
    ("DEU", "DE", "EMEA"),
    ("germany", "DE", "EMEA"),
    ("France", "FR", "EMEA"),
    ("FRANCE", "FR", "EMEA"),
    ("España", "ES", "EMEA"),
    ("Spain", "ES", "EMEA"),
    ("Italia", "IT", "EMEA"),
    ("The Netherlands", "NL", "EMEA"),
    ("Netherlands", "NL", "EMEA"),
    ("Holland", "NL", "EMEA"),
    ("Österreich", "AT", "EMEA"),
    ("Switzerland", "CH", "EMEA"),
    ("Schweiz", "CH", "EMEA"),
    ("Czechia", "CZ", "EMEA"),
    ("Czech Republic", "CZ", "EMEA"),
    ("Russia", "RU", "EMEA"),
    ("Russian Federation", "RU", "EMEA"),
    ("Ireland", "IE", "EMEA"),
    ("Sverige", "SE", "EMEA"),
    ("Poland", "PL", "EMEA"),
    ("Kosovo", "XK", "EMEA"),
    ("Moldova", "MD", "EMEA"),
    # APAC
    ("Japan", "JP", "APAC"),
    ("JPN", "JP", "APAC"),
    ("China", "CN", "APAC"),
    ("PRC", "CN", "APAC"),
    ("Korea, Republic of", "KR", "APAC"),
    ("South Korea", "KR", "APAC"),
    ("Republic of Korea", "KR", "APAC"),
    ("Korea", "KR", "APAC"),
    ("India", "IN", "APAC"),
    ("Singapore", "SG", "APAC"),
    ("Australia", "AU", "APAC"),
    ("New Zealand", "NZ", "APAC"),
    ("Viet Nam", "VN", "APAC"),
    ("Vietnam", "VN", "APAC"),
    ("Taiwan", "TW", "APAC"),
    ("Hong Kong", "HK", "APAC"),
    ("Iran", "IR", "APAC"),
    ("Kazakhstan", "KZ", "APAC"),
    ("Fiji", "FJ", "APAC"),
    ("Guam", "GU", "APAC"),
    # LATAM
    ("Brasil", "BR", "LATAM"),
    ("Brazil", "BR", "LATAM"),
    ("BRA", "BR", "LATAM"),
    ("Mexico", "MX", "LATAM"),
    ("México", "MX", "LATAM"),
    ("Argentina", "AR", "LATAM"),
    ("Colombia", "CO", "LATAM"),
    ("Perú", "PE", "LATAM"),
    ("Chile", "CL", "LATAM"),
    ("Bolivia", "BO", "LATAM"),
    ("Venezuela", "VE", "LATAM"),
    ("Puerto Rico", "PR", "LATAM"),
    ("Dominican Republic", "DO", "LATAM"),
    ("Costa Rica", "CR", "LATAM"),
    ("Trinidad and Tobago", "TT", "LATAM"),
    ("Curaçao", "CW", "LATAM"),
    # MEA
    ("UAE", "AE", "MEA"),
    ("U.A.E.", "AE", "MEA"),
    ("United Arab Emirates", "AE", "MEA"),
    ("Saudi Arabia", "SA", "MEA"),
    ("KSA", "SA", "MEA"),
    ("Israel", "IL", "MEA"),
    ("Turkey", "TR", "MEA"),
    ("Türkiye", "TR", "MEA"),
    ("Egypt", "EG", "MEA"),
    ("Nigeria", "NG", "MEA"),
    ("South Africa", "ZA", "MEA"),
    ("Kenya", "KE", "MEA"),
    ("Côte d'Ivoire", "CI", "MEA"),
    ("Ivory Coast", "CI", "MEA"),
    ("Cote D’Ivoire", "CI", "MEA"),  # noqa: RUF001 - typographic apostrophe on purpose
    ("DRC", "CD", "MEA"),
    ("Tanzania", "TZ", "MEA"),
    ("Morocco", "MA", "MEA"),
    ("Qatar", "QA", "MEA"),
    ("Cyprus", "CY", "MEA"),
]


def test_the_table_covers_at_least_80_spellings_in_every_region():
    assert len(SPELLINGS) >= 80
    assert {region for _, _, region in SPELLINGS} == {"NA", "EMEA", "APAC", "LATAM", "MEA"}


@pytest.mark.parametrize(("spelling", "code", "region"), SPELLINGS)
def test_spelling_resolves_to_country_and_region(spelling, code, region):
    resolved, named = resolve(spelling, lookup=LOOKUP)

    assert resolved == code
    assert named == [code]
    assert REGIONS[resolved] == region


@pytest.mark.parametrize("text", ["Atlantis", "Narnia", "xx", "12345", "-", "Europe"])
def test_unknown_text_resolves_to_nothing(text):
    assert resolve(text, lookup=LOOKUP) == (None, [])


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("US / Canada", ["US", "CA"]),
        ("Germany and France", ["DE", "FR"]),
        ("UK; Ireland", ["GB", "IE"]),
    ],
)
def test_text_naming_two_countries_is_a_conflict(text, named):
    assert resolve(text, lookup=LOOKUP) == (None, named)


def test_every_iso_country_but_antarctica_has_a_region():
    iso = {country.alpha_2 for country in pycountry.countries}

    assert iso - set(REGIONS) == {"AQ"}


def test_m49_borderline_countries_follow_the_design_rule():
    assert [REGIONS[c] for c in ("TR", "IL", "GE", "MX", "GL", "RU", "PR")] == [
        "MEA",
        "MEA",
        "MEA",
        "LATAM",
        "NA",
        "EMEA",
        "LATAM",
    ]


def test_seed_file_lists_every_country_and_alias_generated_from_the_table():
    seed = json.loads(CONFIG.read_text())

    assert seed["countries"] == REGIONS
    assert seed["aliases"] == DEFAULT_ALIASES
