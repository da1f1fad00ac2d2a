"""Fixtures for the emulator's tests: a running emulator, a fresh org and logged-in clients."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import jwt
import pytest
import requests
from simple_salesforce import Salesforce

from sf_emulator.testing import EmulatorProcess

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
API_VERSION = "59.0"


@pytest.fixture
def fresh_org(emulator: EmulatorProcess) -> EmulatorProcess:
    response = emulator.control("POST", "/__emulator__/reset")
    assert response.status_code == 200
    return emulator


def make_assertion(env: dict[str, str], **overrides: object) -> str:
    """A JWT bearer assertion as the app builds it (``exp`` as a string, like simple-salesforce)."""
    claims: dict[str, object] = {
        "iss": env["SF_CONSUMER_KEY"],
        "sub": env["SF_USERNAME"],
        "aud": env["SF_LOGIN_URL"],
        "exp": str(int(time.time()) + 180),
    }
    claims.update(overrides)
    key = Path(env["SF_PRIVATE_KEY_FILE"]).read_text()
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm="RS256")


def token_request(emulator: EmulatorProcess, assertion: str, **form: str) -> requests.Response:
    env = emulator.connection_env
    return requests.post(
        env["SF_LOGIN_URL"] + "/services/oauth2/token",
        data={"grant_type": JWT_GRANT, "assertion": assertion, **form},
        verify=env["SF_CA_BUNDLE"],
        timeout=10,
    )


def jwt_login(emulator: EmulatorProcess, **overrides: object) -> dict:
    response = token_request(emulator, make_assertion(emulator.connection_env, **overrides))
    assert response.status_code == 200, response.text
    return response.json()


def client_for(token: dict, ca_bundle: str) -> Salesforce:
    session = requests.Session()
    session.verify = ca_bundle
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override session.verify
    return Salesforce(
        instance_url=token["instance_url"],
        session_id=token["access_token"],
        session=session,
        version=API_VERSION,
    )


@pytest.fixture
def sf(fresh_org: EmulatorProcess) -> Salesforce:
    """simple-salesforce in session mode, logged in as the integration user."""
    return client_for(jwt_login(fresh_org), fresh_org.connection_env["SF_CA_BUNDLE"])


@pytest.fixture
def login(emulator: EmulatorProcess) -> Callable[..., dict]:
    return lambda **overrides: jwt_login(emulator, **overrides)
