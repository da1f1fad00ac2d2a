"""Dashboards: who may see them, filters in the URL, exports, hostile text, bounded queries."""

import csv
import io

import pytest
from django.contrib.auth.models import Group, User

from flywheel_site.roles import LABELERS, MANAGERS, OPS
from tests.analytics.facts import smb_facts

pytestmark = pytest.mark.django_db
PAGES = ("", "ttfr/", "routing/", "templates/", "flywheel/")
XSS = "<script>alert('x')</script>"
FORMULA = '=HYPERLINK("http://evil.test")'


def user_in(group: str | None) -> User:
    user = User.objects.create_user(f"u-{group}", password="pw-long-enough-1")
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def facts():
    smb_facts([(source, 1) for source in ("Web", XSS, FORMULA, "Web")])


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_users_are_sent_to_login(client, page):
    response = client.get(f"/dashboard/{page}")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("group", "status"), [(None, 403), (LABELERS, 403), (MANAGERS, 200), (OPS, 200)]
)
def test_only_managers_and_ops_see_dashboards(client, group, status):
    client.force_login(user_in(group))

    assert client.get("/dashboard/ttfr/").status_code == status


def test_unknown_dashboard_is_404(client):
    client.force_login(user_in(MANAGERS))

    assert client.get("/dashboard/nope/").status_code == 404


@pytest.mark.parametrize("page", PAGES)
def test_pages_render_with_plotly_served_locally(client, facts, page):
    client.force_login(user_in(MANAGERS))

    response = client.get(f"/dashboard/{page}")

    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/plotly/plotly.min.js" in html
    assert "cdn" not in html.lower()


def test_lead_text_is_escaped_in_pages(client, facts):
    client.force_login(user_in(MANAGERS))

    html = client.get("/dashboard/ttfr/").content.decode()

    assert XSS not in html
    assert "&lt;script&gt;" in html


def test_filters_are_kept_in_the_url_and_applied(client, facts):
    client.force_login(user_in(MANAGERS))

    response = client.get("/dashboard/ttfr/?segment=ENT&export=json")

    data = response.json()
    assert data["filters"]["segment"] == "ENT"
    assert data["kpis"]["Leads"] == 0


def test_csv_export_neutralises_formulas_and_has_a_header(client, facts):
    client.force_login(user_in(MANAGERS))

    response = client.get("/dashboard/ttfr/?export=csv&table=by_source")

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
    assert rows[0][0] == "lead source"
    sources = [row[0] for row in rows[1:]]
    assert "'" + FORMULA in sources and FORMULA not in sources
    assert XSS in sources  # CSV carries the text as data


def test_json_export_matches_the_page_figures(client, facts):
    client.force_login(user_in(MANAGERS))

    data = client.get("/dashboard/ttfr/?export=json").json()

    assert data["kpis"]["Leads"] == 4
    assert data["kpis"]["Median (min)"] == 11.5
    assert len(data["tables"]["by_source"]) == 3


def test_csv_export_of_unknown_table_is_404(client, facts):
    client.force_login(user_in(MANAGERS))

    assert client.get("/dashboard/ttfr/?export=csv&table=nope").status_code == 404


@pytest.mark.parametrize("page", PAGES)
def test_dashboard_queries_are_bounded(client, facts, django_assert_max_num_queries, page):
    client.force_login(user_in(MANAGERS))

    with django_assert_max_num_queries(20):
        client.get(f"/dashboard/{page}")


def test_garbage_filters_fall_back_to_defaults(client, facts):
    client.force_login(user_in(MANAGERS))

    response = client.get(
        "/dashboard/ttfr/?start=yesterday&end=2026-13-45&segment=<b>&owner=';drop"
    )

    assert response.status_code == 200
