"""Seeded synthetic inbound leads: companies, people, countries, sizes and inquiry text.

Every lead comes with its ground truth (segment from the true head count, region from the true
country by the UN M49 grouping, dominant intent of the inquiry). The visible fields are noisy the
way web forms are: codes and aliases for countries, typos, blanks, missing or unparseable sizes.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass

from sf_emulator.schema import INDUSTRIES, LEAD_SOURCES

INTENTS = ("pricing", "demo", "technical", "integration", "partnership", "support", "general")
REGIONS = ("NA", "EMEA", "APAC", "LATAM", "MEA")
SEGMENTS = ("SMB", "MM", "ENT")
# How often each of the org's lead sources (the LeadSource picklist) comes up.
LEAD_SOURCE_WEIGHTS = {
    "Web": 40,
    "Phone Inquiry": 10,
    "Partner Referral": 10,
    "Trade Show": 10,
    "Webinar": 14,
    "Purchased List": 9,
    "Other": 7,
}


@dataclass(frozen=True)
class Country:
    name: str
    iso2: str
    iso3: str
    region: str
    weight: float
    aliases: tuple[str, ...] = ()
    language: str = "en"


COUNTRIES: tuple[Country, ...] = (
    Country(
        "United States",
        "US",
        "USA",
        "NA",
        30,
        ("USA", "U.S.", "United States of America", "U.S.A."),
    ),
    Country("Canada", "CA", "CAN", "NA", 5, ()),
    Country("Germany", "DE", "DEU", "EMEA", 7, ("Deutschland",), "de"),
    Country("United Kingdom", "GB", "GBR", "EMEA", 7, ("UK", "Great Britain", "England", "U.K.")),
    Country("France", "FR", "FRA", "EMEA", 5, ("République française",), "fr"),
    Country("Netherlands", "NL", "NLD", "EMEA", 2.5, ("Holland", "The Netherlands")),
    Country("Spain", "ES", "ESP", "EMEA", 2.5, ("España", "Espana"), "es"),
    Country("Italy", "IT", "ITA", "EMEA", 2.5, ("Italia",)),
    Country("Sweden", "SE", "SWE", "EMEA", 1.5, ("Sverige",)),
    Country("Switzerland", "CH", "CHE", "EMEA", 1.5, ("Schweiz", "Suisse"), "de"),
    Country("Poland", "PL", "POL", "EMEA", 1.5, ("Polska",)),
    Country("Ireland", "IE", "IRL", "EMEA", 1.2, ("Éire",)),
    Country("Austria", "AT", "AUT", "EMEA", 1, ("Österreich",), "de"),
    Country("Belgium", "BE", "BEL", "EMEA", 1, ("Belgique",), "fr"),
    Country("Portugal", "PT", "PRT", "EMEA", 1, (), "pt"),
    Country("Denmark", "DK", "DNK", "EMEA", 1, ("Danmark",)),
    Country("Japan", "JP", "JPN", "APAC", 3, ()),
    Country("India", "IN", "IND", "APAC", 3.5, ()),
    Country("Singapore", "SG", "SGP", "APAC", 2, ()),
    Country("Australia", "AU", "AUS", "APAC", 3, ()),
    Country(
        "South Korea",
        "KR",
        "KOR",
        "APAC",
        1.5,
        ("Korea, Republic of", "Korea", "Republic of Korea"),
    ),
    Country("China", "CN", "CHN", "APAC", 1.5, ("PRC", "People's Republic of China")),
    Country("New Zealand", "NZ", "NZL", "APAC", 1, ()),
    Country("Indonesia", "ID", "IDN", "APAC", 0.8, ()),
    Country("Viet Nam", "VN", "VNM", "APAC", 0.6, ("Vietnam",)),
    Country("Brazil", "BR", "BRA", "LATAM", 3, ("Brasil",), "pt"),
    Country("Mexico", "MX", "MEX", "LATAM", 2.5, ("México",), "es"),
    Country("Argentina", "AR", "ARG", "LATAM", 1, (), "es"),
    Country("Colombia", "CO", "COL", "LATAM", 1, (), "es"),
    Country("Chile", "CL", "CHL", "LATAM", 0.8, (), "es"),
    Country("Costa Rica", "CR", "CRI", "LATAM", 0.4, (), "es"),
    Country("Dominican Republic", "DO", "DOM", "LATAM", 0.3, ("República Dominicana",), "es"),
    Country("United Arab Emirates", "AE", "ARE", "MEA", 1.5, ("UAE", "U.A.E.", "Emirates")),
    Country("Saudi Arabia", "SA", "SAU", "MEA", 1, ("KSA",)),
    Country("Israel", "IL", "ISR", "MEA", 1, ()),
    Country("Turkey", "TR", "TUR", "MEA", 0.8, ("Türkiye", "Turkiye")),
    Country("South Africa", "ZA", "ZAF", "MEA", 1.2, ("RSA",)),
    Country("Nigeria", "NG", "NGA", "MEA", 0.8, ()),
    Country("Egypt", "EG", "EGY", "MEA", 0.7, ()),
    Country("Kenya", "KE", "KEN", "MEA", 0.5, ()),
    Country("Morocco", "MA", "MAR", "MEA", 0.4, ("Maroc",), "fr"),
)

_FIRST = {
    "en": (
        "James",
        "Emily",
        "Michael",
        "Sarah",
        "David",
        "Jessica",
        "Chris",
        "Olivia",
        "Ryan",
        "Megan",
    ),
    "de": ("Lukas", "Anna", "Jonas", "Lea", "Felix", "Katharina", "Maximilian", "Sophie", "Jürgen"),
    "fr": ("Louis", "Camille", "Hugo", "Chloé", "Antoine", "Manon", "Étienne", "Julie"),
    "es": ("Alejandro", "Lucía", "Javier", "Sofía", "Diego", "Valentina", "Mateo", "Camila"),
    "pt": ("João", "Ana", "Pedro", "Beatriz", "Lucas", "Mariana", "Gabriel", "Larissa"),
    "ja": ("Haruto", "Yui", "Sota", "Aoi", "Ren", "Hina"),
    "hi": ("Arjun", "Priya", "Rahul", "Ananya", "Vikram", "Sneha"),
    "ar": ("Omar", "Layla", "Ahmed", "Fatima", "Youssef", "Noura"),
    "zh": ("Wei", "Li Na", "Jun", "Mei", "Hao", "Xiu"),
}
_LAST = {
    "en": (
        "Smith",
        "Johnson",
        "Brown",
        "Taylor",
        "Anderson",
        "Walker",
        "O'Connor",
        "Clarke",
        "Hughes",
    ),
    "de": ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Becker", "Hoffmann", "Schäfer"),
    "fr": ("Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Laurent", "Girard"),
    "es": ("García", "Fernández", "López", "Martínez", "Sánchez", "Ramírez", "Torres"),
    "pt": ("Silva", "Santos", "Oliveira", "Souza", "Pereira", "Costa", "Almeida"),
    "ja": ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito"),
    "hi": ("Sharma", "Patel", "Gupta", "Iyer", "Reddy", "Nair"),
    "ar": ("Al-Farsi", "Haddad", "Mansour", "Khalil", "Nasser", "Saleh"),
    "zh": ("Wang", "Li", "Zhang", "Liu", "Chen", "Huang"),
}
_NAME_LANGUAGE = {
    "JP": "ja",
    "IN": "hi",
    "AE": "ar",
    "SA": "ar",
    "EG": "ar",
    "CN": "zh",
    "SG": "zh",
}
_ROOTS = (
    "Northwind",
    "Bluepeak",
    "Ironbridge",
    "Silverline",
    "Brightwave",
    "Cedar",
    "Quantum",
    "Helix",
    "Summit",
    "Atlas",
    "Nimbus",
    "Vertex",
    "Redwood",
    "Lumen",
    "Orbit",
    "Harbor",
    "Falcon",
    "Granite",
    "Evergreen",
    "Polar",
    "Crescent",
    "Sterling",
    "Apex",
    "Meridian",
    "Aurora",
    "Kestrel",
    "Solace",
)
_TRADES = (
    "Analytics",
    "Logistics",
    "Health",
    "Systems",
    "Foods",
    "Energy",
    "Robotics",
    "Capital",
    "Software",
    "Labs",
    "Retail",
    "Media",
    "Mobility",
    "Networks",
    "Materials",
    "Learning",
)
_LEGAL = {
    "US": ("Inc.", "LLC", "Corp."),
    "CA": ("Inc.", "Ltd."),
    "GB": ("Ltd", "PLC"),
    "IE": ("Ltd",),
    "DE": ("GmbH", "AG", "GmbH & Co. KG"),
    "AT": ("GmbH",),
    "CH": ("AG", "GmbH", "SA"),
    "FR": ("SAS", "SA"),
    "BE": ("SA", "BV"),
    "NL": ("B.V.",),
    "ES": ("S.L.", "S.A."),
    "IT": ("S.p.A.", "S.r.l."),
    "PT": ("Lda.",),
    "BR": ("Ltda.", "S.A."),
    "MX": ("S.A. de C.V.",),
    "AU": ("Pty Ltd",),
    "NZ": ("Ltd",),
    "JP": ("K.K.",),
    "IN": ("Pvt Ltd",),
    "SG": ("Pte Ltd",),
    "SE": ("AB",),
    "DK": ("ApS",),
    "PL": ("Sp. z o.o.",),
    "AE": ("FZ-LLC", "LLC"),
}
_TITLES = (
    "CEO",
    "CTO",
    "VP Sales",
    "Head of Marketing",
    "Operations Manager",
    "IT Director",
    "Software Engineer",
    "Procurement Lead",
    "Founder",
    "Office Manager",
    "Data Analyst",
    "Chief Revenue Officer",
    "Product Manager",
    "Geschäftsführer",
    "Directeur commercial",
    "Gerente de TI",
    "Diretora de Operações",
    None,
)
_TOOLS = ("Salesforce", "HubSpot", "SAP", "Slack", "Snowflake", "Zendesk", "Microsoft Teams")
_GARBAGE_SIZES = ("about {n} people", "{n}+", "approx. {n}", "~{n} staff", "{n}-ish")


@dataclass(frozen=True)
class LeadTruth:
    """What is really true about a synthetic lead, whatever its fields say."""

    segment: str
    region: str
    intent: str
    employees: int | None
    country_iso2: str | None
    secondary_intent: str | None = None
    language: str = "en"


@dataclass(frozen=True)
class SyntheticLead:
    fields: dict[str, object]
    truth: LeadTruth


def segment_for(employees: int | None) -> str:
    """SMB 1-199, MM 200-999, ENT 1000+, UNKNOWN without a count."""
    if employees is None or employees < 1:
        return "UNKNOWN"
    if employees < 200:
        return "SMB"
    return "MM" if employees < 1000 else "ENT"


class LeadFactory:
    """Reproducible stream of synthetic leads: the same seed gives the same leads in order."""

    def __init__(self, *, seed: int) -> None:
        self._random = random.Random(seed)
        self._countries = COUNTRIES
        self._country_weights = [country.weight for country in COUNTRIES]

    def lead(self) -> SyntheticLead:
        rnd = self._random
        country = rnd.choices(self._countries, weights=self._country_weights)[0]
        names = _NAME_LANGUAGE.get(country.iso2, country.language)
        first, last = rnd.choice(_FIRST[names]), rnd.choice(_LAST[names])
        company = self._company(country)
        employees = self._true_employees()
        size_field, size_note = self._visible_size(employees)
        language = country.language if rnd.random() < 0.5 else "en"
        intent = rnd.choice(INTENTS)
        secondary = rnd.choice([i for i in INTENTS if i != intent]) if rnd.random() < 0.12 else None
        description = inquiry_text(rnd=rnd, intent=intent, secondary=secondary, language=language)
        if size_note:
            description = f"{description} {size_note}"
        country_field = self._visible_country(country)
        fields: dict[str, object] = {
            "FirstName": first if rnd.random() > 0.03 else None,
            "LastName": last,
            "Company": company,
            "Title": rnd.choice(_TITLES),
            "Email": _email(first=first, last=last, company=company),
            "Phone": f"+{rnd.randint(1, 99)} {rnd.randint(100, 999)} {rnd.randint(1000000, 9999999)}",
            "Country": country_field,
            "NumberOfEmployees": size_field,
            "Industry": rnd.choice(INDUSTRIES) if rnd.random() > 0.08 else None,
            "LeadSource": rnd.choices(
                LEAD_SOURCES, weights=[LEAD_SOURCE_WEIGHTS[source] for source in LEAD_SOURCES]
            )[0],
            "Description": description,
            "Status": "Open - Not Contacted",
        }
        region = "UNKNOWN" if country_field is None else country.region
        truth = LeadTruth(
            segment=segment_for(employees),
            region=region,
            intent=intent,
            employees=employees,
            country_iso2=None if country_field is None else country.iso2,
            secondary_intent=secondary,
            language=language,
        )
        return SyntheticLead(fields=fields, truth=truth)

    def _company(self, country: Country) -> str:
        rnd = self._random
        legal = rnd.choice(_LEGAL.get(country.iso2, ("Ltd", "Group")))
        if rnd.random() < 0.3:
            return f"{rnd.choice(_ROOTS)} {legal}"
        return f"{rnd.choice(_ROOTS)} {rnd.choice(_TRADES)} {legal}"

    def _true_employees(self) -> int | None:
        """Log-normal head count (median ~120, long tail into the tens of thousands)."""
        rnd = self._random
        if rnd.random() < 0.05:
            return None
        count = max(1, min(250_000, round(math.exp(rnd.gauss(math.log(120), 1.6)))))
        if count > 20 and rnd.random() < 0.3:
            magnitude = 10 ** (len(str(count)) - 1)
            count = round(count / magnitude) * magnitude
        return count

    def _visible_size(self, employees: int | None) -> tuple[int | None, str | None]:
        """The NumberOfEmployees value a form stores, and a note when only text was given."""
        if employees is None or self._random.random() >= 0.02:
            return employees, None
        size = self._random.choice(_GARBAGE_SIZES).format(n=employees)
        return None, f"Company size: {size}. We are about {employees} people."

    def _visible_country(self, country: Country) -> str | None:
        rnd = self._random
        roll = rnd.random()
        if roll < 0.03:
            return None
        if roll < 0.06:
            return _typo(rnd=rnd, text=country.name)
        if roll < 0.2:
            text = country.iso2
        elif roll < 0.28:
            text = country.iso3
        elif roll < 0.4 and country.aliases:
            text = rnd.choice(country.aliases)
        else:
            text = country.name
        case = rnd.random()
        if case < 0.08:
            return text.lower()
        return text.upper() if case < 0.12 else text


def _typo(*, rnd: random.Random, text: str) -> str:
    """Drop, double or swap one inner letter (kept recognisable)."""
    if len(text) < 5:
        return text
    index = rnd.randint(1, len(text) - 3)
    kind = rnd.randint(0, 2)
    if kind == 0:
        return text[:index] + text[index + 1 :]
    if kind == 1:
        return text[:index] + text[index] + text[index:]
    return text[:index] + text[index + 1] + text[index] + text[index + 2 :]


def _email(*, first: str, last: str, company: str) -> str:
    domain = re.sub(r"[^a-z0-9]", "", company.lower().split(" ")[0]) or "example"
    local = re.sub(r"[^a-z0-9.]", "", f"{first}.{last}".lower().replace(" ", "")) or "contact"
    return f"{local}@{domain}.example.com"


_PHRASES: dict[str, dict[str, tuple[str, ...]]] = {
    "pricing": {
        "en": (
            "Could you send me your pricing for {n} seats?",
            "What does the Enterprise plan cost per user per year?",
            "We need a quote for about {n} users, ideally with volume discounts.",
            "how much is it?? need budget numbers before friday",
            "Is there a price list? Our procurement asks for annual vs monthly billing.",
        ),
        "de": ("Was kostet Ihre Lösung für {n} Nutzer? Bitte um ein Angebot.",),
        "fr": ("Pourriez-vous m'envoyer vos tarifs pour {n} utilisateurs ?",),
        "es": ("¿Cuál es el precio para {n} usuarios? Necesitamos una cotización.",),
        "pt": ("Qual é o preço para {n} usuários? Precisamos de um orçamento.",),
    },
    "demo": {
        "en": (
            "We'd like to see a demo next week, Tuesday or Wednesday works.",
            "Can someone walk our team through the product? A 30 minute demo would be great.",
            "Requesting a live demo for our sales ops team.",
            "pls book a demo w/ our VP, thx",
            "Is a trial or a guided walkthrough possible before we decide?",
        ),
        "de": ("Wir hätten gerne eine Produktdemo für unser Team.",),
        "fr": ("Nous aimerions organiser une démo avec notre équipe commerciale.",),
        "es": ("Nos gustaría agendar una demostración del producto.",),
        "pt": ("Gostaríamos de agendar uma demonstração do produto.",),
    },
    "technical": {
        "en": (
            "Does your platform support SSO with SAML 2.0 and SCIM provisioning?",
            "What are the API rate limits and is there a sandbox environment?",
            "Where is data hosted, and do you encrypt at rest? We need SOC 2 details.",
            "getting a 403 from the REST endpoint when testing the trial, what scopes are needed",
        ),
        "de": ("Unterstützt Ihre Plattform SSO über SAML und wo werden die Daten gehostet?",),
        "fr": ("Votre API prend-elle en charge OAuth 2.0 et quelles sont les limites d'appels ?",),
        "es": ("¿La plataforma admite SSO con SAML y cifrado de datos en reposo?",),
        "pt": ("A plataforma suporta SSO com SAML e criptografia de dados em repouso?",),
    },
    "integration": {
        "en": (
            "Do you integrate with {tool}? We need a two-way sync.",
            "Is there a native connector for {tool} or do we need middleware?",
            "We want to push leads from {tool} into your system automatically.",
            "integration w/ {tool} possible? webhook or api?",
        ),
        "de": ("Gibt es eine Integration mit {tool}? Wir brauchen einen automatischen Abgleich.",),
        "fr": ("Existe-t-il un connecteur natif avec {tool} ?",),
        "es": ("¿Tienen integración con {tool}? Necesitamos sincronización bidireccional.",),
        "pt": ("Vocês têm integração com {tool}? Precisamos sincronizar os dados.",),
    },
    "partnership": {
        "en": (
            "We're a consultancy interested in becoming a reseller partner.",
            "Do you have a partner program for agencies? We implement CRM for clients.",
            "Looking to discuss a referral partnership and co-marketing.",
            "we are an MSP, what are the margins for resellers",
        ),
        "de": ("Wir sind ein Systemhaus und möchten Vertriebspartner werden.",),
        "fr": ("Nous sommes intégrateurs et souhaitons devenir partenaire revendeur.",),
        "es": ("Somos una consultora y queremos ser socios distribuidores.",),
        "pt": ("Somos uma consultoria e queremos ser parceiros revendedores.",),
    },
    "support": {
        "en": (
            "We're an existing customer and our users can't log in since this morning.",
            "Our account (customer since 2021) shows a billing error, please help.",
            "Existing client here: the export job has failed twice, ticket number lost.",
            "already a customer - dashboard is broken after the update!!!",
        ),
        "de": ("Wir sind bereits Kunde und der Login funktioniert seit heute nicht mehr.",),
        "fr": ("Nous sommes déjà clients et l'export ne fonctionne plus depuis la mise à jour.",),
        "es": ("Ya somos clientes y no podemos iniciar sesión desde esta mañana.",),
        "pt": ("Já somos clientes e não conseguimos acessar a conta desde ontem.",),
    },
    "general": {
        "en": (
            "Please send more information about your company.",
            "Hi, I found you on LinkedIn and would like to learn more.",
            "Interested. Contact me.",
            "What exactly does your product do?",
            "Saw your talk at the conference, let's connect.",
        ),
        "de": ("Bitte senden Sie mir weitere Informationen zu Ihrem Angebot.",),
        "fr": ("Merci de m'envoyer plus d'informations sur votre offre.",),
        "es": ("Por favor envíenme más información sobre su empresa.",),
        "pt": ("Por favor, enviem mais informações sobre a empresa.",),
    },
}
_ALSO = {
    "en": "Also, ",
    "de": "Außerdem: ",
    "fr": "Aussi, ",
    "es": "Además, ",
    "pt": "Além disso, ",
}
_NOISE = (
    "\n\nSent from my iPhone",
    "\n--\nBest regards",
    " <br>",
    "\n\nThis e-mail is confidential. If you are not the intended recipient, delete it.",
    " ...",
)


def inquiry_text(*, rnd: random.Random, intent: str, secondary: str | None, language: str) -> str:
    """An inquiry whose dominant intent is ``intent``; a secondary one adds a short side question."""
    main = _phrase(rnd=rnd, intent=intent, language=language)
    extra = _phrase(rnd=rnd, intent=intent, language=language)
    if rnd.random() < 0.5 and extra != main:
        main = f"{main} {extra}"
    if secondary:
        side = _phrase(rnd=rnd, intent=secondary, language=language)
        main = f"{main} {_ALSO.get(language, 'Also, ')}{side[0].lower()}{side[1:]}"
    roll = rnd.random()
    if roll < 0.1:
        main = main.lower()
    elif roll < 0.2:
        main = _typo(rnd=rnd, text=main)
    if rnd.random() < 0.15:
        main += rnd.choice(_NOISE)
    return main


def _phrase(*, rnd: random.Random, intent: str, language: str) -> str:
    options = _PHRASES[intent].get(language) or _PHRASES[intent]["en"]
    return rnd.choice(options).format(n=rnd.choice((5, 10, 25, 50, 120)), tool=rnd.choice(_TOOLS))
