"""Country names → ISO-2 codes → routing regions.

The region of a country follows the UN M49 sub-regions (DESIGN.md): Northern America → NA,
Europe → EMEA, Latin America and the Caribbean → LATAM, Africa and Western Asia → MEA, the rest of
Asia and Oceania → APAC. Antarctica has no M49 region and is left out (a lead there is ambiguous).
Matching is case-, accent-, punctuation- and space-insensitive: every spelling is reduced by
``normalize`` to lowercase ASCII letters and digits before lookup.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

import pycountry

# UN M49 sub-regions, as ISO 3166-1 alpha-2 codes (Taiwan with Eastern Asia, Kosovo "XK" with
# Southern Europe, as in common business data).
M49_SUBREGIONS: dict[str, str] = {
    "Northern Africa": "DZ EG LY MA SD TN EH",
    "Eastern Africa": "IO BI KM DJ ER ET TF KE MG MW MU YT MZ RE RW SC SO SS UG TZ ZM ZW",
    "Middle Africa": "AO CM CF TD CG CD GQ GA ST",
    "Southern Africa": "BW SZ LS NA ZA",
    "Western Africa": "BJ BF CV CI GM GH GN GW LR ML MR NE NG SH SN SL TG",
    "Caribbean": "AI AG AW BS BB BQ VG KY CU CW DM DO GD GP HT JM MQ MS PR BL KN LC MF VC SX TT "
    "TC VI",
    "Central America": "BZ CR SV GT HN MX NI PA",
    "South America": "AR BO BV BR CL CO EC FK GF GY PY PE GS SR UY VE",
    "Northern America": "BM CA GL PM US",
    "Central Asia": "KZ KG TJ TM UZ",
    "Eastern Asia": "CN HK MO KP JP MN KR TW",
    "South-eastern Asia": "BN KH ID LA MY MM PH SG TH TL VN",
    "Southern Asia": "AF BD BT IN IR MV NP PK LK",
    "Western Asia": "AM AZ BH CY GE IQ IL JO KW LB OM QA SA PS SY TR AE YE",
    "Eastern Europe": "BY BG CZ HU PL MD RO RU SK UA",
    "Northern Europe": "AX DK EE FO FI GG IS IE IM JE LV LT NO SJ SE GB",
    "Southern Europe": "AL AD BA HR GI GR VA IT MT ME MK PT SM RS SI ES XK",
    "Western Europe": "AT BE FR DE LI LU MC NL CH",
    "Australia and New Zealand": "AU CX CC HM NZ NF",
    "Melanesia": "FJ NC PG SB VU",
    "Micronesia": "GU KI MH FM NR MP PW UM",
    "Polynesia": "AS CK PF NU PN WS TK TO TV WF",
}

SUBREGION_TO_REGION: dict[str, str] = {
    "Northern Africa": "MEA",
    "Eastern Africa": "MEA",
    "Middle Africa": "MEA",
    "Southern Africa": "MEA",
    "Western Africa": "MEA",
    "Western Asia": "MEA",
    "Caribbean": "LATAM",
    "Central America": "LATAM",
    "South America": "LATAM",
    "Northern America": "NA",
    "Central Asia": "APAC",
    "Eastern Asia": "APAC",
    "South-eastern Asia": "APAC",
    "Southern Asia": "APAC",
    "Eastern Europe": "EMEA",
    "Northern Europe": "EMEA",
    "Southern Europe": "EMEA",
    "Western Europe": "EMEA",
    "Australia and New Zealand": "APAC",
    "Melanesia": "APAC",
    "Micronesia": "APAC",
    "Polynesia": "APAC",
}

# Spellings pycountry does not know; the policy's editable alias table starts from these.
DEFAULT_ALIASES: dict[str, str] = {
    "USA": "US",
    "U.S.": "US",
    "U.S.A.": "US",
    "America": "US",
    "United States of America": "US",
    "Estados Unidos": "US",
    "UK": "GB",
    "U.K.": "GB",
    "Great Britain": "GB",
    "Britain": "GB",
    "England": "GB",
    "Scotland": "GB",
    "Wales": "GB",
    "Northern Ireland": "GB",
    "Deutschland": "DE",
    "Allemagne": "DE",
    "Alemania": "DE",
    "Frankreich": "FR",
    "Espana": "ES",
    "Italia": "IT",
    "Osterreich": "AT",
    "Schweiz": "CH",
    "Suisse": "CH",
    "Holland": "NL",
    "Nederland": "NL",
    "The Netherlands": "NL",
    "Belgique": "BE",
    "Sverige": "SE",
    "Norge": "NO",
    "Danmark": "DK",
    "Suomi": "FI",
    "Polska": "PL",
    "Czech Republic": "CZ",
    "Russia": "RU",
    "Turkey": "TR",
    "Turkiye": "TR",
    "Brasil": "BR",
    "Mexique": "MX",
    "Republica Dominicana": "DO",
    "Peru": "PE",
    "Korea": "KR",
    "Republic of Korea": "KR",
    "Korea, South": "KR",
    "Korea, North": "KP",
    "Nippon": "JP",
    "Nihon": "JP",
    "PRC": "CN",
    "Mainland China": "CN",
    "Hong Kong SAR": "HK",
    "Macau": "MO",
    "Vietnam": "VN",
    "Laos": "LA",
    "Burma": "MM",
    "East Timor": "TL",
    "Bharat": "IN",
    "Persia": "IR",
    "UAE": "AE",
    "U.A.E.": "AE",
    "Emirates": "AE",
    "KSA": "SA",
    "Saudi": "SA",
    "Syria": "SY",
    "Palestine": "PS",
    "Ivory Coast": "CI",
    "Cote d'Ivoire": "CI",
    "Swaziland": "SZ",
    "Cape Verde": "CV",
    "DRC": "CD",
    "DR Congo": "CD",
    "Congo-Kinshasa": "CD",
    "Democratic Republic of the Congo": "CD",
    "Congo-Brazzaville": "CG",
    "Republic of the Congo": "CG",
    "Misr": "EG",
    "Aotearoa": "NZ",
    "Kosovo": "XK",
    "Vatican": "VA",
    "Macedonia": "MK",
    "Moldavia": "MD",
    "Byelorussia": "BY",
}

_SPLIT = re.compile(r"\s*(?:/|;|\||&|\+|\band\b|,)\s*", re.IGNORECASE)
_LEADING_THE = re.compile(r"^the\s+", re.IGNORECASE)


def normalize(text: str) -> str:
    """Lowercase ASCII letters and digits only: "Côte d'Ivoire" → "cotedivoire", "U.S." → "us"."""
    # Leads repeat a few hundred spellings; a Salesforce Country holds at most 80 characters, and
    # longer (garbage) text is folded each time rather than kept.
    return _normalize_cached(text) if len(text) <= 80 else _normalize(text)


@lru_cache(maxsize=4096)
def _normalize_cached(text: str) -> str:
    return _normalize(text)


def _normalize(text: str) -> str:
    text = _LEADING_THE.sub("", text.strip())
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(char for char in folded.lower() if char.isalnum())


def default_country_regions() -> dict[str, str]:
    """ISO-2 code → region code for every country with an M49 sub-region."""
    return {
        code: SUBREGION_TO_REGION[subregion]
        for subregion, codes in M49_SUBREGIONS.items()
        for code in codes.split()
    }


@cache
def pycountry_names() -> dict[str, str]:
    """Normalized names and codes pycountry knows → ISO-2 (names before an ambiguous comma kept
    only when unique, e.g. 'Iran' from 'Iran, Islamic Republic of' but not 'Congo')."""
    names: dict[str, str] = {}
    prefixes: dict[str, set[str]] = {}
    for country in pycountry.countries:
        code = country.alpha_2
        spellings = [country.alpha_2, country.alpha_3, country.name]
        spellings += [getattr(country, attr, "") for attr in ("official_name", "common_name")]
        for spelling in filter(None, spellings):
            names.setdefault(normalize(spelling), code)
        if ", " in country.name:
            prefixes.setdefault(normalize(country.name.split(", ")[0]), set()).add(code)
    for prefix, codes in prefixes.items():
        if len(codes) == 1:
            names.setdefault(prefix, next(iter(codes)))
    return names


def build_lookup(*, aliases: dict[str, str], countries: dict[str, str]) -> dict[str, str]:
    """The normalized lookup of one policy version: aliases win over pycountry's names; codes the
    policy does not list are dropped (they would have no region)."""
    lookup = {key: code for key, code in pycountry_names().items() if code in countries}
    for code in countries:
        lookup.setdefault(normalize(code), code)
    for alias, code in aliases.items():
        key = normalize(alias)
        if key:
            lookup[key] = code
    return lookup


def resolve(text: str, *, lookup: dict[str, str]) -> tuple[str | None, list[str]]:
    """(ISO-2 or None, distinct codes named). Several codes means the text names several countries
    ('US / Canada'): the caller treats that as a conflict."""
    code = lookup.get(normalize(text))
    if code:
        return code, [code]
    parts = [part for part in _SPLIT.split(text) if part.strip()]
    if len(parts) < 2:
        return None, []
    found = list(dict.fromkeys(c for c in (lookup.get(normalize(p)) for p in parts) if c))
    return (found[0] if len(found) == 1 else None), found


def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return "Kosovo" if code == "XK" else code
    return getattr(country, "common_name", None) or country.name
