"""OAuth 2.0 JWT bearer login, with one token shared by every process through Django's cache.

A token lives in this process and in the shared cache until 5 minutes before the org's session
timeout (the token response carries no expiry). Only one process logs in at a time: the others
wait briefly for its token. Neither the private key, the assertion nor the access token ever
appears in a log line or an exception message.
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from django.core.cache import cache

from salesforce import conf
from salesforce.usage import recorder

logger = logging.getLogger(__name__)

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME_SECONDS = 170  # Salesforce rejects an exp more than 3 minutes ahead
REFRESH_MARGIN_SECONDS = 5 * 60
LOGIN_LOCK_SECONDS = 15
AUTH_WORKLOAD = "auth"
LOGIN_ENDPOINT = "oauth2/token"


class SalesforceError(Exception):
    """Base of every error the Salesforce layer raises."""


class SalesforceAuthError(SalesforceError):
    """Salesforce refused the login; ``hint`` says what to change. Retrying will not help."""

    def __init__(self, message: str, *, error: str = "", description: str = "", hint: str = ""):
        super().__init__(f"{message} {hint}".strip())
        self.reason = message
        self.error = error
        self.description = description
        self.hint = hint


class SalesforceUnavailable(SalesforceError):
    """Salesforce cannot be used right now (outage, API limit, open circuit): retry later."""


@dataclass(frozen=True)
class Token:
    access_token: str = field(repr=False)
    instance_url: str
    identity_url: str
    issued_at: float
    expires_at: float

    @property
    def user_id(self) -> str:
        """The integration user's id (the last part of the identity URL)."""
        return self.identity_url.rstrip("/").rsplit("/", 1)[-1]

    def is_fresh(self, now: float) -> bool:
        return now < self.expires_at - REFRESH_MARGIN_SECONDS


class _PinnedVerifySession(requests.Session):
    """A session whose ``verify`` holds even when REQUESTS_CA_BUNDLE is set: requests lets that
    variable override ``Session.verify``, but not a per-request ``verify``."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("verify") is None:
            kwargs["verify"] = self.verify
        return super().request(method, url, *args, **kwargs)


_process_tokens: dict[str, Token] = {}
_login_lock = threading.Lock()
_http_sessions: dict[str, requests.Session] = {}


def build_assertion(
    *, consumer_key: str, username: str, audience: str, private_key: RSAPrivateKey, now: float
) -> str:
    """The signed JWT (RS256) that asks Salesforce for a token for ``username``."""
    claims = {
        "iss": consumer_key,
        "sub": username,
        "aud": audience,
        "exp": int(now) + ASSERTION_LIFETIME_SECONDS,
    }
    return jwt.encode(claims, private_key, algorithm="RS256", headers={"typ": None})


def get_token(*, force_refresh: bool = False) -> Token:
    """A live token for the configured org: this process's, the shared one, or a new login."""
    connection = conf.connection()
    if not force_refresh:
        token = _cached_token(connection)
        if token is not None:
            return token
    with _login_lock:
        if not force_refresh:
            token = _cached_token(connection)
            if token is not None:
                return token
        token = _login_shared(connection, wait_for_others=not force_refresh)
        _process_tokens[connection.cache_key] = token
        return token


def invalidate_token(token: Token) -> None:
    """Forget ``token`` after Salesforce rejected it (a newer shared token is kept)."""
    key = conf.connection().cache_key
    if _process_tokens.get(key) == token:
        _process_tokens.pop(key, None)
    shared = cache.get(key)
    if isinstance(shared, dict) and shared.get("access_token") == token.access_token:
        cache.delete(key)


def clear_token_cache() -> None:
    """Forget the token in this process and in the shared cache (settings changed, tests)."""
    key = conf.connection().cache_key
    _process_tokens.clear()
    cache.delete(key)


def http_session() -> requests.Session:
    """This process's HTTP session for Salesforce, verifying TLS against SF_CA_BUNDLE if set."""
    ca_bundle = conf.connection().ca_bundle
    session = _http_sessions.get(ca_bundle)
    if session is None:
        session = _PinnedVerifySession()
        session.verify = ca_bundle or True
        _http_sessions[ca_bundle] = session
    return session


def ssl_context() -> ssl.SSLContext | None:
    """The TLS context for non-requests clients (streaming); None means the system defaults."""
    ca_bundle = conf.connection().ca_bundle
    return ssl.create_default_context(cafile=ca_bundle) if ca_bundle else None


def login(connection: conf.Connection) -> Token:
    """Log in once with the JWT bearer flow; raise SalesforceAuthError with the fix on refusal."""
    assertion = build_assertion(
        consumer_key=connection.consumer_key,
        username=connection.username,
        audience=connection.audience,
        private_key=_private_key(connection),
        now=time.time(),
    )
    try:
        response = http_session().post(
            f"{connection.login_url}/services/oauth2/token",
            data={"grant_type": JWT_GRANT, "assertion": assertion},
            timeout=conf.http_timeout_seconds(),
        )
    except requests.exceptions.SSLError as error:
        raise SalesforceAuthError(
            f"The TLS certificate of {connection.login_url} was not trusted ({error}).",
            hint="Set SF_CA_BUNDLE to the CA file that signed it (for the emulator: its ca.pem).",
        ) from None
    except requests.RequestException as error:
        recorder.record(workload=AUTH_WORKLOAD, endpoint=LOGIN_ENDPOINT, ok=False)
        raise SalesforceUnavailable(
            f"Could not reach {connection.login_url} to log in ({type(error).__name__})."
        ) from None
    recorder.record(workload=AUTH_WORKLOAD, endpoint=LOGIN_ENDPOINT, ok=response.ok)
    if response.status_code >= 500:
        raise SalesforceUnavailable(
            f"Salesforce login failed with HTTP {response.status_code}; it will be retried."
        )
    if not response.ok:
        raise _refusal(connection, response)
    return _token_from(response.json())


def _cached_token(connection: conf.Connection) -> Token | None:
    now = time.time()
    token = _process_tokens.get(connection.cache_key)
    if token is not None and token.is_fresh(now):
        return token
    token = _shared_token(connection)
    if token is not None and token.is_fresh(now):
        _process_tokens[connection.cache_key] = token
        return token
    return None


def _shared_token(connection: conf.Connection) -> Token | None:
    stored = cache.get(connection.cache_key)
    if not isinstance(stored, dict):
        return None
    try:
        return Token(**stored)
    except TypeError:
        return None


def _login_shared(connection: conf.Connection, *, wait_for_others: bool) -> Token:
    """Log in, unless another process already is: then wait for its token (bounded)."""
    lock_key = f"{connection.cache_key}:login"
    holds_lock = cache.add(lock_key, os.getpid(), timeout=LOGIN_LOCK_SECONDS)
    if not holds_lock and wait_for_others:
        token = _wait_for_other_login(connection, lock_key)
        if token is not None:
            return token
    try:
        token = login(connection)
        lifetime = int(token.expires_at - time.time())
        cache.set(connection.cache_key, asdict(token), timeout=max(1, lifetime))
        logger.info("logged in to Salesforce as %s", connection.username)
        return token
    finally:
        if holds_lock:
            cache.delete(lock_key)


def _wait_for_other_login(connection: conf.Connection, lock_key: str) -> Token | None:
    deadline = time.monotonic() + LOGIN_LOCK_SECONDS
    while time.monotonic() < deadline and cache.get(lock_key) is not None:
        time.sleep(0.05)
        token = _shared_token(connection)
        if token is not None and token.is_fresh(time.time()):
            return token
    return None


def _token_from(body: dict) -> Token:
    try:
        issued_ms = float(body.get("issued_at") or time.time() * 1000)
        issued_at = min(issued_ms / 1000, time.time())
        return Token(
            access_token=str(body["access_token"]),
            instance_url=str(body["instance_url"]).rstrip("/"),
            identity_url=str(body.get("id", "")),
            issued_at=issued_at,
            expires_at=issued_at + conf.session_timeout_seconds(),
        )
    except (KeyError, TypeError, ValueError):
        raise SalesforceAuthError(
            "Salesforce answered the login without an access token and instance URL.",
            hint="Check SF_LOGIN_URL points at a Salesforce login host.",
        ) from None


def _private_key(connection: conf.Connection) -> RSAPrivateKey:
    path = connection.private_key_file
    if not path:
        raise SalesforceAuthError(
            "SF_PRIVATE_KEY_FILE is not set.",
            hint="Point it at the PEM private key whose certificate the Connected App holds.",
        )
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise SalesforceAuthError(
            f"Cannot read the private key file {path} ({error.strerror}).",
            hint="Check SF_PRIVATE_KEY_FILE and that this user may read the file.",
        ) from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, RSAPrivateKey):
        raise SalesforceAuthError(
            f"{path} is not an unencrypted RSA private key in PEM format.",
            hint="Use the key made with `openssl req -newkey rsa:2048 -nodes` (docs/SETUP.md).",
        )
    return key


_HINTS = {
    "user hasn't approved this consumer": (
        "Pre-authorise the Connected App for the integration user: in Setup, Connected Apps, "
        "Manage, Edit Policies, set Permitted Users to 'Admin approved users are "
        "pre-authorized', then add the user's profile or permission set. Also check that "
        "SF_USERNAME ({username}) is the exact, active username of that user."
    ),
    "audience is invalid": (
        "The JWT audience {audience} does not match this org: use SF_LOGIN_URL "
        "https://login.salesforce.com for production, https://test.salesforce.com for a "
        "sandbox, or set SF_JWT_AUDIENCE."
    ),
    "invalid assertion": (
        "The signature did not verify: SF_PRIVATE_KEY_FILE does not match the certificate "
        "uploaded to the Connected App. Upload the certificate made from this key."
    ),
    "expired authorization code": (
        "The assertion was already expired when Salesforce read it: check this server's clock "
        "(NTP)."
    ),
    "client identifier invalid": (
        "SF_CONSUMER_KEY is not the consumer key of a Connected App in this org: copy it again "
        "from Manage Consumer Details (a new Connected App takes up to 10 minutes to work)."
    ),
}


def _refusal(connection: conf.Connection, response: requests.Response) -> SalesforceAuthError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    error = str(body.get("error") or f"HTTP {response.status_code}")
    description = str(body.get("error_description") or "")
    template = _HINTS.get(description, "")
    hint = template.format(username=connection.username, audience=connection.audience)
    return SalesforceAuthError(
        f"Salesforce refused the login of {connection.username} at {connection.login_url} "
        f"({error}: {description}).",
        error=error,
        description=description,
        hint=hint or "See docs/SETUP.md, Troubleshooting.",
    )
