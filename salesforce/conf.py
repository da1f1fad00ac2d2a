"""Salesforce connection settings, read from Django settings at use time (listed in the README)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import urlparse

from django.conf import settings

PRODUCTION_LOGIN = "https://login.salesforce.com"
SANDBOX_LOGIN = "https://test.salesforce.com"


@dataclass(frozen=True)
class Connection:
    """Where and as whom the app logs in; the private key itself is never held here."""

    login_url: str
    consumer_key: str
    username: str
    private_key_file: str
    ca_bundle: str
    api_version: str
    audience: str

    @property
    def cache_key(self) -> str:
        """Names this org and user in the shared token cache (no secret in it)."""
        identity = "|".join((self.login_url, self.username, self.consumer_key))
        return "salesforce:token:" + hashlib.sha256(identity.encode()).hexdigest()[:24]


def connection() -> Connection:
    login_url = str(getattr(settings, "SF_LOGIN_URL", PRODUCTION_LOGIN)).rstrip("/")
    return Connection(
        login_url=login_url,
        consumer_key=str(getattr(settings, "SF_CONSUMER_KEY", "")),
        username=str(getattr(settings, "SF_USERNAME", "")),
        private_key_file=str(getattr(settings, "SF_PRIVATE_KEY_FILE", "")),
        ca_bundle=str(getattr(settings, "SF_CA_BUNDLE", "")),
        api_version=str(getattr(settings, "SF_API_VERSION", "59.0")),
        audience=str(getattr(settings, "SF_JWT_AUDIENCE", "")) or jwt_audience(login_url),
    )


def integration_user_id() -> str:
    """The Salesforce user the app writes as (its changes are not human changes):
    SF_INTEGRATION_USER_ID when set, else the user of the app's login (cached token)."""
    configured = str(getattr(settings, "SF_INTEGRATION_USER_ID", "") or "")
    if configured:
        return configured
    from salesforce import auth

    return auth.get_token().user_id


def jwt_audience(login_url: str) -> str:
    """The JWT ``aud`` Salesforce expects for a login URL.

    Salesforce accepts only its authorization servers as audience: a My Domain login still uses
    login.salesforce.com (test.salesforce.com for a sandbox). Any other host (the emulator, a
    proxy) is its own audience.
    """
    host = urlparse(login_url).hostname or ""
    if host.endswith(".sandbox.my.salesforce.com"):
        return SANDBOX_LOGIN
    if host.endswith(".my.salesforce.com"):
        return PRODUCTION_LOGIN
    return login_url.rstrip("/")


def session_timeout_seconds() -> int:
    """The org's session timeout: the token response has no expiry, so assume this one."""
    return int(getattr(settings, "SF_SESSION_TIMEOUT_SECONDS", 2 * 60 * 60))


def http_timeout_seconds() -> float:
    return float(getattr(settings, "SF_HTTP_TIMEOUT_SECONDS", 30))


def retry_attempts() -> int:
    """Attempts per call on 5xx, connection errors and REQUEST_LIMIT_EXCEEDED (first included)."""
    return max(1, int(getattr(settings, "SF_RETRY_ATTEMPTS", 4)))


def retry_base_seconds() -> float:
    """The first backoff delay; each further one doubles (with jitter), capped at 30 s."""
    return float(getattr(settings, "SF_RETRY_BASE_SECONDS", 0.5))


def circuit_threshold() -> int:
    """Consecutive failed attempts (5xx, limits, connection) that open the circuit breaker."""
    return max(1, int(getattr(settings, "SF_CIRCUIT_THRESHOLD", 6)))


def circuit_cooldown_seconds() -> int:
    """How long an open circuit stops all calls before one call probes Salesforce again."""
    return int(getattr(settings, "SF_CIRCUIT_COOLDOWN_SECONDS", 300))
