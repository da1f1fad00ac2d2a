"""With DEBUG off, a server error or a missing page shows a plain page: no secret from the
settings, no traceback, not the exception's own text (which may quote a token)."""

from __future__ import annotations

import pytest
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path

from flywheel_site.urls import urlpatterns as site_urlpatterns

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.site.test_error_pages")]
SECRET_KEY = "secret-key-that-must-never-be-shown-0123456789"
ANTHROPIC_API_KEY = "sk-ant-api03-never-shown-0123456789"
SF_ACCESS_TOKEN = "00D58000000NEVER!AQ4AQSECRETSESSIONTOKEN0123456789"
SECRETS = (SECRET_KEY, ANTHROPIC_API_KEY, SF_ACCESS_TOKEN)


def broken_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(f"Salesforce refused session {SF_ACCESS_TOKEN} (key {ANTHROPIC_API_KEY})")


def missing_view(request: HttpRequest) -> HttpResponse:
    raise Http404(f"no lead for session {SF_ACCESS_TOKEN}")


urlpatterns = [
    path("boom/", broken_view),
    path("missing/", missing_view),
    *site_urlpatterns,
]


@pytest.fixture(autouse=True)
def _production_with_secrets(settings):
    settings.DEBUG = False
    settings.SECRET_KEY = SECRET_KEY
    settings.ANTHROPIC_API_KEY = ANTHROPIC_API_KEY
    settings.SF_ACCESS_TOKEN = SF_ACCESS_TOKEN


def assert_plain(response) -> None:
    body = response.content.decode()
    for secret in SECRETS:
        assert secret not in body
    for debug_marker in ("Traceback", "RuntimeError", "broken_view", "settings", "site-packages"):
        assert debug_marker not in body
    assert "<pre" not in body


def test_server_error_page_shows_no_secret_and_no_traceback(manager_client):
    manager_client.raise_request_exception = False

    response = manager_client.get("/boom/")

    assert response.status_code == 500
    assert_plain(response)


def test_missing_page_shows_no_secret_and_no_url_list(manager_client):
    missing = manager_client.get("/missing/")
    unknown = manager_client.get("/no-such-page/")

    assert missing.status_code == unknown.status_code == 404
    assert_plain(missing)
    assert_plain(unknown)
    assert "admin/" not in unknown.content.decode()  # DEBUG's URLconf listing


def test_the_error_pages_leak_under_debug_so_the_test_can_see_a_leak(manager_client, settings):
    settings.DEBUG = True

    response = manager_client.get("/missing/")

    assert SF_ACCESS_TOKEN in response.content.decode()
