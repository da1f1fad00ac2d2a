"""Permission matrix: every URL the project serves, for every role → the expected outcome.

The expectations live in the tables below. A URL pattern that is in none of them fails the test,
so a page added later is checked as soon as it exists. Outcomes: an HTTP status, LOGIN (a redirect
to a sign-in page) or MOVED (any other redirect).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.contrib import admin
from django.test import Client

from analytics.pages import PAGES
from flywheel.models import Label
from tests.reliability.world import (
    ANON,
    LABELER,
    LEAD_ID,
    MANAGER,
    NOBODY,
    OP,
    ROLES,
    ROOT,
    Route,
    admin_instance,
    routes,
    world_build,
)

LOGIN, MOVED = "login", "moved"
STAFF = {NOBODY, LABELER, MANAGER, OP, ROOT}
NONE: frozenset[str] = frozenset()


def only(*allowed: str, denied: object = 403, anon: object = LOGIN) -> dict[str, object]:
    """200 for ``allowed``, ``denied`` for the other signed-in roles, ``anon`` for anonymous."""
    return {role: anon if role == ANON else 200 if role in allowed else denied for role in ROLES}


def every(outcome: object, *, anon: object = LOGIN) -> dict[str, object]:
    return {role: anon if role == ANON else outcome for role in ROLES}


# Admin pages of each registered model: who may view (list, change form, history), add, delete.
# The object pages use the model's first row (a published policy's rows are read-only).
ADMIN_ACCESS: dict[str, tuple[set[str], set[str], set[str]]] = {
    "auth.group": ({ROOT}, {ROOT}, {ROOT}),
    "auth.user": ({ROOT}, {ROOT}, {ROOT}),
    "django_q.failure": ({ROOT}, set(), {ROOT}),
    "django_q.ormq": ({ROOT}, set(), {ROOT}),
    "django_q.schedule": ({ROOT}, {ROOT}, {ROOT}),
    "django_q.success": ({ROOT}, set(), {ROOT}),
    "salesforce.changeevent": ({ROOT}, set(), set()),
    "salesforce.deadletter": ({OP, ROOT}, set(), {ROOT}),
    "salesforce.replayposition": ({ROOT}, set(), set()),
    "salesforce.listenerlease": ({ROOT}, set(), set()),
    "salesforce.apiusage": ({ROOT}, set(), set()),
    "routing.routingpolicy": ({OP, ROOT}, {OP, ROOT}, set()),
    "routing.ownerpool": ({OP, ROOT}, {OP, ROOT}, set()),
    "routing.regioncountry": ({OP, ROOT}, {OP, ROOT}, set()),
    "routing.countryalias": ({OP, ROOT}, {OP, ROOT}, set()),
    "routing.segmentrule": ({OP, ROOT}, {OP, ROOT}, set()),
    "routing.overriderule": ({OP, ROOT}, {OP, ROOT}, set()),
    "routing.rep": ({OP, ROOT}, {OP, ROOT}, {OP, ROOT}),
    "routing.assignment": ({MANAGER, OP, ROOT}, set(), set()),
    "ttfr.leadfact": ({ROOT}, set(), {ROOT}),
    "ttfr.slabreach": ({ROOT}, set(), {ROOT}),
    "ttfr.backfillcheckpoint": ({ROOT}, set(), {ROOT}),
    "templates_app.emailtemplate": ({OP, ROOT}, {OP, ROOT}, {OP, ROOT}),
    "templates_app.templatesuggestion": ({MANAGER, OP, ROOT}, set(), set()),
    "flywheel.decision": ({LABELER, MANAGER, OP, ROOT}, set(), set()),
    "flywheel.label": ({LABELER, ROOT}, set(), set()),
    "flywheel.modelversion": ({MANAGER, OP, ROOT}, set(), set()),
}
# The standard ModelAdmin pages: route suffix → which ADMIN_ACCESS column decides.
ADMIN_PAGES = {
    "": "view",
    "add/": "add",
    "<path:object_id>/history/": "view",
    "<path:object_id>/delete/": "delete",
    "<path:object_id>/change/": "view",
    "<path:object_id>/": "redirect",
}
# Extra pages a ModelAdmin adds: route → (path with {pk} for the model's first row and {label}
# for the first Label, outcomes). The world's label accepts the decision: nothing to push (404).
ADMIN_EXTRA: dict[str, tuple[str, dict[str, object]]] = {
    "admin/auth/user/<id>/password/": ("/admin/auth/user/{pk}/password/", only(ROOT)),
    "admin/routing/routingpolicy/<int:pk>/simulate/": (
        "/admin/routing/routingpolicy/{pk}/simulate/",
        only(OP, ROOT),
    ),
    "admin/flywheel/decision/next/": (
        "/admin/flywheel/decision/next/",
        {**only(), LABELER: MOVED, ROOT: MOVED},
    ),
    "admin/flywheel/decision/export/": (
        "/admin/flywheel/decision/export/",
        only(LABELER, MANAGER, OP, ROOT),
    ),
    # no export job in the world: a permitted role gets 404, as it would for another's job
    "admin/flywheel/decision/export/<int:pk>/": (
        "/admin/flywheel/decision/export/{pk}/",
        {**only(), LABELER: 404, MANAGER: 404, OP: 404, ROOT: 404},
    ),
    "admin/flywheel/decision/<int:pk>/review/": (
        "/admin/flywheel/decision/{pk}/review/",
        only(LABELER, ROOT),
    ),
    "admin/flywheel/decision/<int:pk>/push/<int:label_id>/": (
        "/admin/flywheel/decision/{pk}/push/{label}/",
        {**only(), LABELER: 404, ROOT: 404},
    ),
}
# Every other URL: route → (a concrete path, outcomes).
PAGES_TABLE: dict[str, tuple[str, dict[str, object]]] = {
    "": ("/", every(MOVED, anon=MOVED)),
    "admin/": ("/admin/", every(200)),
    "admin/login/": ("/admin/login/", every(MOVED, anon=200)),
    "admin/logout/": ("/admin/logout/", every(405, anon=MOVED)),
    "admin/password_change/": ("/admin/password_change/", every(200)),
    "admin/password_change/done/": ("/admin/password_change/done/", every(200)),
    "admin/autocomplete/": ("/admin/autocomplete/", every(403)),
    "admin/jsi18n/": ("/admin/jsi18n/", every(200)),
    "admin/r/<path:content_type_id>/<path:object_id>/": ("/admin/r/99999/1/", every(404)),
    "admin:app_list": (
        "/admin/routing/",
        only(MANAGER, OP, ROOT, denied=404),
    ),
    "admin/(?P<url>.*)$": ("/admin/no-such-page/", every(404)),
    "accounts/login/": ("/accounts/login/", every(200, anon=200)),
    "accounts/logout/": ("/accounts/logout/", every(405, anon=405)),
    "accounts/password_change/": ("/accounts/password_change/", every(200)),
    "accounts/password_change/done/": ("/accounts/password_change/done/", every(200)),
    "accounts/password_reset/": ("/accounts/password_reset/", every(200, anon=200)),
    "accounts/password_reset/done/": ("/accounts/password_reset/done/", every(200, anon=200)),
    "accounts/reset/<uidb64>/<token>/": ("/accounts/reset/MQ/bad-token/", every(200, anon=200)),
    "accounts/reset/done/": ("/accounts/reset/done/", every(200, anon=200)),
    "healthz": ("/healthz", every(200, anon=200)),
    "suggestions/": ("/suggestions/", only(LABELER, MANAGER, OP, ROOT)),
    "suggestions/<str:lead_id>/": (f"/suggestions/{LEAD_ID}/", only(LABELER, MANAGER, OP, ROOT)),
    "dashboard/": ("/dashboard/", only(MANAGER, OP, ROOT)),
    "dashboard/<slug:page>/": ("/dashboard/routing/", only(MANAGER, OP, ROOT)),
}
DASHBOARD = only(MANAGER, OP, ROOT)
# Pages that answer 500 today, each with a strict xfail test that turns red once fixed.
KNOWN_BROKEN: set[str] = set()


def _admin_outcomes(route: Route, pk: object) -> tuple[str, dict[str, object]]:
    view, add, delete = ADMIN_ACCESS[route.admin_model]
    column = ADMIN_PAGES[route.suffix]
    app, model = route.admin_model.split(".")
    path = f"/admin/{app}/{model}/" + route.suffix.replace("<path:object_id>", str(pk))
    if column == "redirect":
        return path, every(MOVED)
    return path, only(*{"view": view, "add": add, "delete": delete}[column])


def matrix() -> list[tuple[str, str, dict[str, object]]]:
    """(route, concrete path, outcomes) for every URL pattern; unknown patterns are reported."""
    rows, unknown = [], []
    for route in routes():
        if route.admin_model and route.suffix in ADMIN_PAGES:
            if route.admin_model not in ADMIN_ACCESS:
                unknown.append(f"admin model {route.admin_model} (add it to ADMIN_ACCESS)")
                continue
            instance = admin_instance(route.admin_model)
            pk = instance.pk if instance is not None else 0
            rows.append((route.route, *_admin_outcomes(route, pk)))
        elif route.route in ADMIN_EXTRA:
            template, outcomes = ADMIN_EXTRA[route.route]
            pk, label = admin_instance(route.admin_model).pk, Label.objects.first().pk
            rows.append((route.route, template.format(pk=pk, label=label), outcomes))
        elif route.route in PAGES_TABLE or route.name in PAGES_TABLE:
            rows.append((route.route, *PAGES_TABLE.get(route.route, PAGES_TABLE.get(route.name))))
        else:
            unknown.append(f"URL pattern {route.route!r} (add it to PAGES_TABLE or ADMIN_EXTRA)")
    assert not unknown, "URLs without expected permissions:\n" + "\n".join(sorted(set(unknown)))
    return rows


def _outcome(response) -> object:
    if response.status_code in (301, 302):
        target = urlsplit(response["Location"]).path
        return LOGIN if target in ("/admin/login/", "/accounts/login/") else MOVED
    return response.status_code


def _client_for(role: str, users: dict) -> Client:
    client = Client()
    if users[role] is not None:
        client.force_login(users[role])
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_url_answers_each_role_as_the_table_says(role, settings):
    world = world_build(settings)
    client = _client_for(role, world.users)

    wrong = []
    for route, path, outcomes in matrix():
        if route in KNOWN_BROKEN and outcomes[role] == 200:
            continue
        got = _outcome(client.get(path))
        if got != outcomes[role]:
            wrong.append(f"{path} ({route}): expected {outcomes[role]}, got {got}")

    assert not wrong, f"{role}:\n" + "\n".join(wrong)


@pytest.mark.django_db
@pytest.mark.parametrize("role", [ANON, NOBODY, LABELER])
def test_no_dashboard_page_or_export_opens_without_a_dashboard_role(role, settings):
    """Managers, Ops and superusers open them all in the injection tests."""
    world = world_build(settings)
    client = _client_for(role, world.users)

    got = {
        f"/dashboard/{page}/?{query}": _outcome(client.get(f"/dashboard/{page}/", query_dict))
        for page in PAGES
        for query, query_dict in (
            ("", {}),
            ("export=json", {"export": "json"}),
            ("export=csv", {"export": "csv"}),
        )
    }

    assert got == {path: DASHBOARD[role] for path in got}


@pytest.mark.django_db
def test_anonymous_never_receives_data(settings):
    world = world_build(settings)
    client = Client()

    leaked = [
        path
        for _, path, outcomes in matrix()
        if outcomes[ANON] == 200
        and any(text in client.get(path).content.decode() for text in (LEAD_ID, "ines.garcia"))
    ]

    assert world.lead_fields and not leaked


@pytest.mark.django_db
@pytest.mark.parametrize("role", [ANON, ROOT])
def test_every_post_without_a_csrf_token_is_refused(role, settings):
    world = world_build(settings)
    client = Client(enforce_csrf_checks=True)
    if world.users[role] is not None:
        client.force_login(world.users[role])

    accepted = []
    for route, path, _ in matrix():
        response = client.post(path, {"username": ROOT, "password": "x", "post": "yes"})
        if response.status_code != 403 or b"CSRF" not in response.content:
            accepted.append(f"{path} ({route}): {response.status_code}")

    assert not accepted


@pytest.mark.django_db
@pytest.mark.parametrize("role", [NOBODY, LABELER, MANAGER, OP])
def test_admin_writes_need_the_right_role(role, settings):
    world = world_build(settings)
    client = _client_for(role, world.users)

    allowed_writes = []
    registered = {model._meta.label_lower for model in admin.site._registry}
    for label, (_, add, delete) in ADMIN_ACCESS.items():
        if label not in registered:
            continue  # django_q.ormq without the ORM broker
        instance = admin_instance(label)
        app, model = label.split(".")
        if role not in add:
            response = client.post(f"/admin/{app}/{model}/add/", {})
            if response.status_code != 403:
                allowed_writes.append(f"add {label}: {response.status_code}")
        if instance is not None and role not in delete:
            response = client.post(f"/admin/{app}/{model}/{instance.pk}/delete/", {"post": "yes"})
            still_there = type(instance)._default_manager.filter(pk=instance.pk).exists()
            if response.status_code != 403 or not still_there:
                allowed_writes.append(f"delete {label}: {response.status_code}")

    assert not allowed_writes


def test_every_registered_admin_model_has_a_row_in_the_table():
    registered = {model._meta.label_lower for model in admin.site._registry}

    assert registered - set(ADMIN_ACCESS) == set()
    # django-q2 registers its queue admin only with the ORM broker (not with REDIS_URL)
    assert set(ADMIN_ACCESS) - registered <= {"django_q.ormq"}


@pytest.mark.django_db
def test_label_change_page_opens_for_reviewers(settings):
    world = world_build(settings)
    client = _client_for(LABELER, world.users)

    response = client.get(f"/admin/flywheel/label/{Label.objects.first().pk}/change/")

    assert response.status_code == 200
