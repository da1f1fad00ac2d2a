"""Login throttling: after LOGIN_FAILURE_LIMIT failed sign-ins for one username from one address
within LOGIN_LOCKOUT_SECONDS, further attempts for that pair are refused (even with the right
password) until the cool-down ends; after LOGIN_ADDRESS_FAILURE_LIMIT failures from one address
for any usernames (password spraying), that address is refused for every username.

The address is REMOTE_ADDR, or behind TRUSTED_PROXY_HOPS reverse proxies the entry the outermost
trusted proxy appended to X-Forwarded-For (entries further left are the client's to forge).
Counters live in Django's cache, shared by web processes (Redis, or the file cache on one host)."""

from __future__ import annotations

import hashlib
import logging
import math
from functools import cache as cache_once

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest

logger = logging.getLogger(__name__)

LOCKED_MESSAGE = (
    "Too many failed sign-in attempts for this username from your address. "
    "Sign-in is paused for %(minutes)d minute(s); try again later or ask an administrator."
)
ADDRESS_LOCKED_MESSAGE = (
    "Too many failed sign-in attempts from your address. "
    "Sign-in is paused for %(minutes)d minute(s); try again later or ask an administrator."
)


def _key(kind: str, *parts: str) -> str:
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return f"login-throttle:{kind}:{digest}"


def _pair(username: str, address: str) -> tuple[str, str]:
    return (username.strip().lower(), address)


def client_address(request: HttpRequest | None) -> str:
    """The sign-in's client address, trusting only the proxies TRUSTED_PROXY_HOPS counts."""
    if request is None:
        return ""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    hops = settings.TRUSTED_PROXY_HOPS
    if hops <= 0:
        if forwarded:
            _warn_untrusted_proxy(remote)
        return remote
    entries = [entry.strip() for entry in forwarded.split(",") if entry.strip()]
    if not entries:
        return remote
    # Each trusted proxy appends the address it saw, so the hops-th entry from the right is the
    # client as the outermost one saw it; fewer entries than hops were all added by our proxies.
    return entries[-hops] if len(entries) >= hops else entries[0]


@cache_once
def _warn_untrusted_proxy(remote: str) -> None:
    logger.warning(
        "sign-in from %s carries X-Forwarded-For but TRUSTED_PROXY_HOPS is 0: behind a reverse "
        "proxy every client shares the proxy's address for the sign-in throttle (one client's "
        "failures lock out all). Set TRUSTED_PROXY_HOPS=1 (docs/OPERATIONS.md).",
        remote,
    )


def login_locked(*, username: str, address: str) -> bool:
    return cache.get(_key("locked", *_pair(username, address))) is not None


def address_locked(*, address: str) -> bool:
    return cache.get(_key("address-locked", address)) is not None


def _count(key: str, *, window: int) -> int:
    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        return 1


def login_failure_record(*, username: str, address: str) -> int:
    """Count one failed sign-in; lock the pair, or the whole address, at their limits."""
    window = settings.LOGIN_LOCKOUT_SECONDS
    failures = _count(_key("failures", *_pair(username, address)), window=window)
    if failures >= settings.LOGIN_FAILURE_LIMIT:
        cache.set(_key("locked", *_pair(username, address)), 1, timeout=window)
        logger.warning("sign-in locked for %d s after %d failures", window, failures)
    address_failures = _count(_key("address-failures", address), window=window)
    if address_failures >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
        cache.set(_key("address-locked", address), 1, timeout=window)
        logger.warning(
            "sign-in from one address locked for %d s after %d failures across usernames",
            window,
            address_failures,
        )
    return failures


def login_failures_clear(*, username: str, address: str) -> None:
    """Reset the pair's count; the address's count stays, so one good account cannot launder it."""
    cache.delete(_key("failures", *_pair(username, address)))


class ThrottledAuthenticationForm(AuthenticationForm):
    """The sign-in form with the throttle in front of the password check."""

    def clean(self) -> dict:
        username = str(self.cleaned_data.get("username") or "")
        address = client_address(self.request)
        minutes = math.ceil(settings.LOGIN_LOCKOUT_SECONDS / 60)
        if address_locked(address=address):
            raise ValidationError(
                ADDRESS_LOCKED_MESSAGE, code="locked", params={"minutes": minutes}
            )
        if login_locked(username=username, address=address):
            raise ValidationError(LOCKED_MESSAGE, code="locked", params={"minutes": minutes})
        try:
            cleaned = super().clean()
        except ValidationError as error:
            if any(item.code == "invalid_login" for item in error.error_list):
                login_failure_record(username=username, address=address)
            raise
        login_failures_clear(username=username, address=address)
        return cleaned


class ThrottledAdminAuthenticationForm(ThrottledAuthenticationForm, AdminAuthenticationForm):
    """The admin's sign-in form (staff only) with the same throttle."""
