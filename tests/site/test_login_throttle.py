"""Sign-in throttling on the admin and the app's login page: N failures lock the username from that
address for the cool-down, with a message saying so; a success before the limit resets the count;
many usernames from one address lock the address; behind a trusted proxy the client address comes
from X-Forwarded-For, and a forged X-Forwarded-For is ignored."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache

PASSWORD = "pw-12345-long"


@pytest.fixture(autouse=True)
def _private_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_LOCKOUT_SECONDS = 600
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 10
    settings.TRUSTED_PROXY_HOPS = 0
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def staff(db):
    return User.objects.create_user("stella", password=PASSWORD, is_staff=True)


def _admin_login(
    client, password: str, *, address: str = "10.0.0.1", username: str = "stella", **headers
):
    return client.post(
        "/admin/login/",
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
        **headers,
    )


def _locked(response) -> bool:
    return b"Too many failed sign-in attempts" in response.content


def test_admin_login_locks_after_the_limit_even_for_the_right_password(client, staff):
    failures = [_admin_login(client, "wrong") for _ in range(3)]

    refused = _admin_login(client, PASSWORD)

    assert all(r.status_code == 200 for r in failures)
    assert refused.status_code == 200
    assert b"Too many failed sign-in attempts" in refused.content
    assert b"10 minute(s)" in refused.content
    assert "_auth_user_id" not in client.session


def test_lock_is_per_address_and_ends_after_the_cool_down(client, staff):
    for _ in range(3):
        _admin_login(client, "wrong")

    other_address = _admin_login(client, PASSWORD, address="10.0.0.2")
    client.logout()
    cache.clear()  # the cool-down elapsed: the cache entries expired
    after_cool_down = _admin_login(client, PASSWORD)

    assert other_address.status_code == 302
    assert after_cool_down.status_code == 302


def test_success_before_the_limit_resets_the_failure_count(client, staff):
    _admin_login(client, "wrong")
    _admin_login(client, "wrong")
    assert _admin_login(client, PASSWORD).status_code == 302
    client.logout()

    _admin_login(client, "wrong")
    _admin_login(client, "wrong")
    still_open = _admin_login(client, PASSWORD)

    assert still_open.status_code == 302


def test_app_login_page_is_throttled_with_a_clear_message(client, staff):
    for _ in range(3):
        client.post("/accounts/login/", {"username": "STELLA", "password": "wrong"})

    refused = client.post("/accounts/login/", {"username": "stella", "password": PASSWORD})

    assert refused.status_code == 200
    assert b"Too many failed sign-in attempts" in refused.content
    assert "_auth_user_id" not in client.session


def test_spraying_many_usernames_from_one_address_locks_the_address(client, staff):
    for number in range(10):
        _admin_login(client, "wrong", username=f"user{number}")

    refused = _admin_login(client, PASSWORD)
    other_address = _admin_login(client, PASSWORD, address="10.0.0.2")

    assert _locked(refused)
    assert b"from your address" in refused.content
    assert other_address.status_code == 302


def test_without_trusted_proxies_a_forged_forwarded_for_is_ignored(client, staff):
    for number in range(3):
        _admin_login(client, "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{number}")

    refused = _admin_login(client, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.99")

    assert _locked(refused)


def test_a_proxy_header_without_trusted_hops_warns_the_operator_once(client, staff, caplog):
    from flywheel_site import throttle

    throttle._warn_untrusted_proxy.cache_clear()
    for number in range(2):
        _admin_login(
            client, "wrong", address="127.0.0.1", HTTP_X_FORWARDED_FOR=f"198.51.100.{number}"
        )

    warnings = [
        r.getMessage() for r in caplog.records if "TRUSTED_PROXY_HOPS is 0" in r.getMessage()
    ]
    assert len(warnings) == 1 and "Set TRUSTED_PROXY_HOPS=1" in warnings[0]


def test_behind_one_proxy_two_clients_are_throttled_separately(client, settings, staff):
    settings.TRUSTED_PROXY_HOPS = 1
    behind_proxy = {"address": "127.0.0.1"}
    for _ in range(3):
        _admin_login(client, "wrong", **behind_proxy, HTTP_X_FORWARDED_FOR="203.0.113.7")

    attacker = _admin_login(client, PASSWORD, **behind_proxy, HTTP_X_FORWARDED_FOR="203.0.113.7")
    admin = _admin_login(client, PASSWORD, **behind_proxy, HTTP_X_FORWARDED_FOR="203.0.113.8")

    assert _locked(attacker)
    assert admin.status_code == 302


def test_behind_one_proxy_the_client_cannot_forge_its_address(client, settings, staff):
    settings.TRUSTED_PROXY_HOPS = 1
    for number in range(3):
        # The client sends its own X-Forwarded-For; the proxy appends the address it saw.
        forged = f"198.51.100.{number}, 203.0.113.7"
        _admin_login(client, "wrong", address="127.0.0.1", HTTP_X_FORWARDED_FOR=forged)

    refused = _admin_login(
        client, PASSWORD, address="127.0.0.1", HTTP_X_FORWARDED_FOR="10.9.9.9, 203.0.113.7"
    )

    assert _locked(refused)


def test_limits_come_from_the_environment_with_safe_defaults():
    from flywheel_site import settings as production

    assert production.LOGIN_FAILURE_LIMIT == 5
    assert production.LOGIN_ADDRESS_FAILURE_LIMIT == 20
    assert production.LOGIN_LOCKOUT_SECONDS == 900
    assert production.TRUSTED_PROXY_HOPS == 0


def test_the_counters_live_in_a_cache_every_web_process_shares():
    from flywheel_site import settings as production

    backend = production.CACHES["default"]["BACKEND"]

    assert not backend.endswith("LocMemCache")
    assert backend.endswith(("FileBasedCache", "RedisCache"))
