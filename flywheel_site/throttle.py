"""Login throttling: after LOGIN_FAILURE_LIMIT failed sign-ins for one username from one address
within LOGIN_LOCKOUT_SECONDS, further attempts for that pair are refused (even with the right
password) until the cool-down ends. Counters live in Django's cache, shared by web processes."""

from __future__ import annotations

import hashlib
import logging
import math

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


def _key(kind: str, *, username: str, address: str) -> str:
    digest = hashlib.sha256(f"{username.strip().lower()}\n{address}".encode()).hexdigest()
    return f"login-throttle:{kind}:{digest}"


def client_address(request: HttpRequest | None) -> str:
    return str(request.META.get("REMOTE_ADDR", "")) if request is not None else ""


def login_locked(*, username: str, address: str) -> bool:
    return cache.get(_key("locked", username=username, address=address)) is not None


def login_failure_record(*, username: str, address: str) -> int:
    """Count one failed sign-in; lock the pair when the count reaches the limit."""
    window = settings.LOGIN_LOCKOUT_SECONDS
    key = _key("failures", username=username, address=address)
    cache.add(key, 0, timeout=window)
    try:
        failures = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        failures = 1
    if failures >= settings.LOGIN_FAILURE_LIMIT:
        cache.set(_key("locked", username=username, address=address), 1, timeout=window)
        logger.warning("sign-in locked for %d s after %d failures", window, failures)
    return failures


def login_failures_clear(*, username: str, address: str) -> None:
    cache.delete(_key("failures", username=username, address=address))


class ThrottledAuthenticationForm(AuthenticationForm):
    """The sign-in form with the throttle in front of the password check."""

    def clean(self) -> dict:
        username = str(self.cleaned_data.get("username") or "")
        address = client_address(self.request)
        if login_locked(username=username, address=address):
            minutes = math.ceil(settings.LOGIN_LOCKOUT_SECONDS / 60)
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
