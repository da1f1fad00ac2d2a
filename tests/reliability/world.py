"""A small populated app for the security tests: every admin model has a row, the role users
exist, and one lead carrying hostile text went through the real routing, TTFR and template code.

Also a walker over the URL resolver, so the tests see every URL the project serves (including
ones added later) and fail when one is not in their table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db.models import Model
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django_q.models import OrmQ, Schedule, Task

from flywheel.models import Decision, ModelVersion
from flywheel.services import label_record
from flywheel_site.roles import LABELERS, MANAGERS, OPS
from routing.services.assign import leads_route
from salesforce import inbox
from salesforce.cdc import parse_message
from salesforce.models import ApiUsage, ChangeEvent, ListenerLease
from templates_app.models import EmailTemplate, TemplateSuggestion
from templates_app.services import suggestions_create
from tests.routing.fakes import FakeClient
from ttfr.models import BackfillCheckpoint, LeadFact, SlaBreach
from ttfr.services.facts import lead_facts_created_record

PASSWORD = "pw-12345-long"
ANON, NOBODY, LABELER, MANAGER, OP, ROOT = (
    "anonymous",
    "no-role",
    "labeler",
    "manager",
    "ops",
    "superuser",
)
ROLES = (ANON, NOBODY, LABELER, MANAGER, OP, ROOT)
GROUP_OF = {LABELER: LABELERS, MANAGER: MANAGERS, OP: OPS}

LEAD_ID = "00Q5f000000XSSAEA4"
XSS = "<script>alert('flywheel-xss')</script>"
FORMULA = "=cmd|' /C calc'!A0"
TEMPLATE_CODE = "{{ settings.SECRET_KEY }}{% debug %}"
# Markup in the text the dashboards show in tables and in the JSON embedded for plotly: a lead
# source that is a formula too (40 characters, its column's size) and a template name.
MARKUP_SOURCE = "=1+1</script><svg onload=alert(1)>"
MARKUP_TEMPLATE = '"><img src=x onerror=alert(1)></script>'
MARKUP = (MARKUP_SOURCE, MARKUP_TEMPLATE)
SOQL_BREAK = "O'Brien\\' OR Name != '"
HOSTILE_LEAD = {
    "FirstName": TEMPLATE_CODE,
    "LastName": XSS,
    "Company": FORMULA + XSS,
    "Title": SOQL_BREAK,
    "Country": "+1" + XSS,
    "Industry": "@SUM(1+1)",
    "LeadSource": '=HYPERLINK("http://evil.example")' + XSS,
    "Description": f"How much is it? {XSS} {TEMPLATE_CODE} {FORMULA}",
    "Email": "evil@example.com",
    "NumberOfEmployees": 250,
    "OwnerId": "00G5f0000000001EAA",
    "HasOptedOutOfEmail": False,
}
INTEGRATION_USER = "0055f000000001cAAA"


@dataclass(frozen=True)
class World:
    users: dict[str, User | None]
    lead_fields: dict[str, object]


def _cdc_message(fields: dict[str, object], *, replay_id: int) -> dict:
    now_ms = int(timezone.now().timestamp() * 1000)
    return {
        "channel": "/data/LeadChangeEvent",
        "data": {
            "event": {"replayId": replay_id},
            "payload": {
                "ChangeEventHeader": {
                    "entityName": "Lead",
                    "changeType": "CREATE",
                    "recordIds": [LEAD_ID],
                    "commitTimestamp": now_ms,
                    "commitUser": "0055f0000000001AAA",
                    "changeOrigin": "com/salesforce/api/soap/59.0;client=web",
                    "changedFields": [],
                    "transactionKey": "tx-1",
                },
                "CreatedDate": timezone.now().strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
                **fields,
            },
        },
    }


def users_create() -> dict[str, User | None]:
    users: dict[str, User | None] = {ANON: None}
    for role in (NOBODY, LABELER, MANAGER, OP):
        user = User.objects.create_user(role, password=PASSWORD, is_staff=True)
        if role in GROUP_OF:
            user.groups.add(Group.objects.get(name=GROUP_OF[role]))
        users[role] = user
    users[ROOT] = User.objects.create_superuser(ROOT, password=PASSWORD)
    return users


def world_build(settings, *, lead_fields: dict[str, object] | None = None) -> World:
    """Seed config, role users, and one hostile lead through routing, TTFR and templates."""
    settings.SF_INTEGRATION_USER_ID = INTEGRATION_USER
    fields = dict(lead_fields or HOSTILE_LEAD)
    call_command("load_config", verbosity=0)
    users = users_create()
    message = _cdc_message(fields, replay_id=101)
    changes = parse_message(message, channel=message["channel"])
    ids = inbox.events_store(
        changes=changes, source="cdc", positions={message["channel"]: (101, None)}
    )
    inbox.dead_letter_record(source="cdc", reason=f"bad message {XSS}", payload=message)
    events = list(ChangeEvent.objects.filter(id__in=ids))
    leads_route(events=events, client=FakeClient())
    record = {**events[0].fields, "Id": LEAD_ID}
    lead_facts_created_record(leads=[record])
    LeadFact.objects.filter(lead_id=LEAD_ID).update(lead_source=MARKUP_SOURCE)  # fits its column
    suggestions_create(leads=[record])
    suggested = TemplateSuggestion.objects.filter(lead_id=LEAD_ID).values("template_id")
    EmailTemplate.objects.filter(id__in=suggested).update(name=MARKUP_TEMPLATE)
    decision = Decision.objects.order_by("id").first()
    label_record(decision_id=decision.pk, verdict="correct", reviewer=users[LABELER], note=XSS)
    now = timezone.now()
    ListenerLease.objects.create(holder=XSS, notice=XSS, heartbeat_at=now)
    hour = now.replace(minute=0, second=0, microsecond=0)
    ApiUsage.objects.create(hour=hour, workload="routing", endpoint="query", calls=3)
    SlaBreach.objects.create(
        lead_id=LEAD_ID, sla_minutes=60, business_minutes=90.0, detected_at=now, note=XSS
    )
    BackfillCheckpoint.objects.create(since=dt.date(2026, 1, 1), last_lead_id=LEAD_ID)
    ModelVersion.objects.create(
        workload="routing",
        version=1,
        algorithm=XSS,
        artifact_path="routing/missing.joblib",
        sha256="0" * 64,
        metrics={"accuracy": 0.5, "comparison": [{"decider": XSS, "n": 1, "accuracy": 0.5}]},
    )
    _task_rows(now)
    return World(users=users, lead_fields=fields)


def _task_rows(now: dt.datetime) -> None:
    """One row of each django-q2 model the admin lists."""
    Schedule.objects.create(func="math.floor", name=XSS)
    for task_id, success in (("a" * 32, True), ("b" * 32, False)):
        Task.objects.create(
            id=task_id, name=XSS, func="math.floor", started=now, stopped=now, success=success
        )
    OrmQ.objects.create(key="flywheel", payload="not-signed", lock=now)


@dataclass(frozen=True)
class Route:
    """One URL pattern of the project: its full route text and name (``admin:...``)."""

    route: str
    name: str
    admin_model: str = ""  # "app_label.model_name" for a ModelAdmin's pages
    suffix: str = ""  # the route after "admin/<app_label>/<model_name>/"


def _walk(patterns: list, prefix: str, namespace: str) -> Iterator[tuple[str, str]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}:{pattern.namespace}" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}".strip(":") if pattern.name else ""
            yield prefix + str(pattern.pattern), name


def routes() -> list[Route]:
    """Every URL pattern the project serves; a ModelAdmin's pages name their model."""
    prefixes = {
        f"admin/{model._meta.app_label}/{model._meta.model_name}/": model._meta.label_lower
        for model in admin.site._registry
    }
    found = []
    for route, name in _walk(get_resolver().url_patterns, "", ""):
        prefix = next((p for p in prefixes if route.startswith(p)), "")
        found.append(
            Route(route, name, prefixes.get(prefix, ""), route[len(prefix) :] if prefix else "")
        )
    return found


def admin_instance(model_label: str) -> Model | None:
    for model in admin.site._registry:
        if model._meta.label_lower == model_label:
            return model._default_manager.order_by("pk").first()
    raise LookupError(model_label)
