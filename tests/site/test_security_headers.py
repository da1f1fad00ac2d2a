"""A real response, under production settings (DEBUG off, HTTPS, HSTS), carries the browser
security headers: on the login page and on a dashboard a manager sees."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _production(settings):
    settings.DEBUG = False
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True


def assert_security_headers(response) -> None:
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    policy = response["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy


def test_login_page_carries_the_security_headers(client):
    response = client.get("/accounts/login/", secure=True)

    assert response.status_code == 200
    assert_security_headers(response)


def test_dashboard_page_carries_the_security_headers(manager_client):
    response = manager_client.get("/dashboard/ttfr/", secure=True)

    assert response.status_code == 200
    assert_security_headers(response)


def test_plain_http_is_redirected_to_https(client):
    response = client.get("/accounts/login/")

    assert response.status_code == 301
    assert response["Location"].startswith("https://")


def test_pages_run_no_inline_script_the_policy_would_block(manager_client):
    """script-src 'self' only: every <script> on a page is a static file or a JSON data block."""
    pages = ("/accounts/login/", "/dashboard/", "/dashboard/ttfr/", "/dashboard/routing/")
    for page in pages:
        html = manager_client.get(page, secure=True).content.decode()
        for tag in html.split("<script")[1:]:
            opening = tag.split(">", 1)[0]
            assert " src=" in opening or 'type="application/json"' in opening, (page, opening)
        assert " onclick=" not in html and " onload=" not in html
