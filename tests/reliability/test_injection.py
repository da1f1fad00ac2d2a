"""Hostile lead text (script tags, spreadsheet formulas, template code, SOQL quotes) shown on
every page a superuser can open, in every dashboard export and in the rendered suggestion."""

from __future__ import annotations

import csv
import html
import io
import json
import re

import pytest
from django.conf import settings as django_settings
from django.test import Client

from analytics.pages import PAGES
from flywheel_site.exports import FORMULA_PREFIXES
from templates_app.models import TemplateSuggestion
from tests.reliability.world import (
    LEAD_ID,
    MARKUP,
    MARKUP_SOURCE,
    MARKUP_TEMPLATE,
    ROOT,
    TEMPLATE_CODE,
    XSS,
    world_build,
)
from tests.site.test_permissions import KNOWN_BROKEN, matrix

JSON_SCRIPT = re.compile(r'<script id="[^"]*" type="application/json">(.*?)</script>', re.DOTALL)


def _unsafe_cells(body: str) -> list[str]:
    cells = [cell for row in csv.reader(io.StringIO(body)) for cell in row]
    return [c for c in cells if c.startswith(FORMULA_PREFIXES) and not _is_number(c)]


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


@pytest.fixture
def root_client(db, settings) -> Client:
    world = world_build(settings)
    client = Client()
    client.force_login(world.users[ROOT])
    return client


def test_no_page_shows_lead_text_as_markup_or_leaks_the_secret_key(root_client):
    pages = [
        path
        for route, path, outcomes in matrix()
        if outcomes[ROOT] == 200 and route not in KNOWN_BROKEN
    ]
    pages += [f"/dashboard/{page}/" for page in PAGES]

    unsafe = []
    for path in pages:
        response = root_client.get(path)
        content = response.content.decode()
        is_html = response["Content-Type"].startswith("text/html")
        if (is_html and XSS in content) or django_settings.SECRET_KEY in content:
            unsafe.append(path)

    assert len(pages) > 40 and not unsafe


def test_hostile_lead_text_is_on_the_pages_escaped(root_client):
    detail = root_client.get(f"/suggestions/{LEAD_ID}/").content.decode()
    assignments = root_client.get("/admin/routing/assignment/").content.decode()

    assert "&lt;script&gt;alert(&#x27;flywheel-xss&#x27;)&lt;/script&gt;" in detail
    assert LEAD_ID in assignments


def test_every_dashboard_export_is_formula_safe_csv_and_valid_json(root_client):
    unsafe, bodies = [], []
    for page in PAGES:
        data = root_client.get(f"/dashboard/{page}/", {"export": "json"}).json()
        for name in data["tables"]:
            response = root_client.get(f"/dashboard/{page}/", {"export": "csv", "table": name})
            assert response.status_code == 200, (page, name)
            bodies.append(response.content.decode())
            unsafe += [(page, name, c) for c in _unsafe_cells(bodies[-1])]

    assert len(bodies) > len(PAGES) and not unsafe
    assert any("'" + MARKUP_SOURCE in body for body in bodies), (
        "the hostile lead source reached an export"
    )


def test_dashboards_show_markup_from_lead_data_only_escaped(root_client):
    pages = {page: root_client.get(f"/dashboard/{page}/").content.decode() for page in PAGES}
    everything = "".join(pages.values())

    raw = [(page, text) for page, body in pages.items() for text in MARKUP if text in body]

    assert not raw
    assert html.escape(MARKUP_SOURCE) in pages["ttfr"]  # the by-source table
    assert html.escape(MARKUP_TEMPLATE) in pages["templates"]  # the usage table
    assert "<svg" not in everything and "<img" not in everything


def test_plotly_json_cannot_close_its_script_block(root_client):
    blocks = [
        block
        for page in PAGES
        for block in JSON_SCRIPT.findall(root_client.get(f"/dashboard/{page}/").content.decode())
    ]
    figures = [json.loads(block) for block in blocks]

    assert blocks and not [block for block in blocks if "<" in block or ">" in block]
    assert MARKUP_TEMPLATE in json.dumps(figures), "the hostile template name reached a chart"


def test_suggestion_shows_template_code_from_lead_data_literally(root_client):
    suggestion = TemplateSuggestion.objects.get(lead_id=LEAD_ID)

    page = root_client.get(f"/suggestions/{LEAD_ID}/").content.decode()

    assert TEMPLATE_CODE.split("}}")[0] in suggestion.body + suggestion.subject
    assert django_settings.SECRET_KEY not in suggestion.body + page
    json.dumps(suggestion.body)
