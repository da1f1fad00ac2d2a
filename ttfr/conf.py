"""TTFR settings, read from Django settings with defaults (the lead adds them to settings.py).

| setting | default | meaning |
| --- | --- | --- |
| TTFR_SLA_MINUTES | 60 | first-response target in business minutes |
| TTFR_SLA_MINUTES_BY_SEGMENT | {} | per-segment targets, e.g. {"ENT": 30} |
| TTFR_AUTOMATED_SENDERS | [] | user ids (005…) and email addresses whose touches are automated |
| TTFR_BUSINESS_HOURS | see DEFAULT_CALENDARS | per team: time_zone, start, end, days, country |
| TTFR_SLA_ACTIONS | [] | on breach: "notify" and/or "reassign" (off by default) |
| SF_INTEGRATION_USER_ID | the login's user | the app's own Salesforce user (an automated sender) |
"""

from __future__ import annotations

from django.conf import settings

from ttfr.hours import BusinessCalendar, calendar_from_dict

DEFAULT_TEAM = "DEFAULT"
SLA_ACTIONS = frozenset({"notify", "reassign"})
DEFAULT_CALENDARS: dict[str, dict] = {
    "NA": {"time_zone": "America/New_York", "country": "US"},
    "EMEA": {"time_zone": "Europe/Berlin", "country": "DE"},
    "APAC": {"time_zone": "Asia/Singapore", "country": "SG"},
    "LATAM": {"time_zone": "America/Sao_Paulo", "country": "BR"},
    "MEA": {"time_zone": "Asia/Dubai", "country": "AE"},
    DEFAULT_TEAM: {"time_zone": "UTC", "country": ""},
}


def integration_user_id() -> str:
    from salesforce.conf import integration_user_id as configured_or_login

    return configured_or_login()


def automated_senders() -> frozenset[str]:
    """Ids (15 characters, so 15- and 18-character forms match) and lower-cased addresses."""
    configured = list(getattr(settings, "TTFR_AUTOMATED_SENDERS", []) or [])
    values = [integration_user_id(), *configured]
    return frozenset(v.lower() if "@" in v else v[:15] for v in values if v)


def sla_minutes(segment: str = "") -> int:
    by_segment = getattr(settings, "TTFR_SLA_MINUTES_BY_SEGMENT", {}) or {}
    if segment and segment in by_segment:
        return int(by_segment[segment])
    return int(getattr(settings, "TTFR_SLA_MINUTES", 60))


def sla_actions() -> frozenset[str]:
    actions = frozenset(getattr(settings, "TTFR_SLA_ACTIONS", []) or [])
    unknown = actions - SLA_ACTIONS
    if unknown:
        raise ValueError(f"TTFR_SLA_ACTIONS: unknown actions {sorted(unknown)}")
    return actions


def calendars() -> dict[str, BusinessCalendar]:
    configured = getattr(settings, "TTFR_BUSINESS_HOURS", {}) or {}
    merged = {**DEFAULT_CALENDARS, **configured}
    return {team: calendar_from_dict(team=team, data=data) for team, data in merged.items()}


def calendar_for(team: str) -> BusinessCalendar:
    table = calendars()
    return table.get(team) or table[DEFAULT_TEAM]
