"""JWT bearer login: Salesforce's success shape, its error texts and session expiry."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce.exceptions import SalesforceExpiredSession

from sf_emulator.testing import EmulatorProcess, running_emulator
from tests.emulator.conftest import client_for, jwt_login, make_assertion, token_request

pytestmark = pytest.mark.integration


def oauth_error(emulator: EmulatorProcess, assertion: str, **form: str) -> tuple[int, dict]:
    response = token_request(emulator, assertion, **form)
    return response.status_code, response.json()


def test_jwt_login_returns_a_bearer_session_for_the_integration_user(
    emulator: EmulatorProcess,
) -> None:
    token = jwt_login(emulator)

    assert token["token_type"] == "Bearer" and token["scope"] == "api"
    assert token["instance_url"] == emulator.url
    assert token["id"].endswith("/0055f000000001cAAA")
    assert token["access_token"].startswith("00D") and token["issued_at"].isdigit()


def test_numeric_exp_is_accepted_too(emulator: EmulatorProcess) -> None:
    token = jwt_login(emulator, exp=int(time.time()) + 120)

    assert token["access_token"]


@pytest.mark.parametrize(
    ("overrides", "error", "description"),
    [
        ({"iss": "3MVG9unknown"}, "invalid_client_id", "client identifier invalid"),
        ({"aud": "https://login.salesforce.com"}, "invalid_grant", "audience is invalid"),
        ({"exp": str(int(time.time()) - 60)}, "invalid_grant", "expired authorization code"),
        ({"exp": None}, "invalid_grant", "expired authorization code"),
        ({"sub": "nobody@flywheel.demo"}, "invalid_grant", "user hasn't approved this consumer"),
    ],
)
def test_bad_claims_get_salesforce_errors(
    emulator: EmulatorProcess, overrides: dict, error: str, description: str
) -> None:
    status, body = oauth_error(emulator, make_assertion(emulator.connection_env, **overrides))

    assert status == 400
    assert body == {"error": error, "error_description": description}


def test_assertion_signed_with_another_key_is_invalid(emulator: EmulatorProcess) -> None:
    env = emulator.connection_env
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    claims = {"iss": env["SF_CONSUMER_KEY"], "sub": env["SF_USERNAME"], "aud": env["SF_LOGIN_URL"]}
    forged = jwt.encode({**claims, "exp": int(time.time()) + 60}, pem, algorithm="RS256")

    assert oauth_error(emulator, forged) == (
        400,
        {"error": "invalid_grant", "error_description": "invalid assertion"},
    )


def test_garbage_assertion_and_wrong_grant_type_never_crash(emulator: EmulatorProcess) -> None:
    garbage = oauth_error(emulator, "not.a.jwt")
    hs256 = oauth_error(emulator, jwt.encode({"iss": "x"}, "secret" * 6, algorithm="HS256"))
    wrong_grant = oauth_error(emulator, "x", grant_type="password")

    assert garbage == (400, {"error": "invalid_grant", "error_description": "invalid assertion"})
    assert hs256 == garbage
    assert wrong_grant == (
        400,
        {"error": "unsupported_grant_type", "error_description": "grant type not supported"},
    )


def test_expired_sessions_raise_expired_session_and_a_new_login_works(
    fresh_org: EmulatorProcess,
) -> None:
    ca = fresh_org.connection_env["SF_CA_BUNDLE"]
    sf = client_for(jwt_login(fresh_org), ca)
    sf.limits()

    fresh_org.control("POST", "/__emulator__/faults", json={"expire_sessions": True})

    with pytest.raises(SalesforceExpiredSession) as caught:
        sf.limits()
    assert caught.value.content[0]["errorCode"] == "INVALID_SESSION_ID"
    assert client_for(jwt_login(fresh_org), ca).limits()["DailyApiRequests"]["Max"] > 0


def test_idle_sessions_expire_after_the_configured_timeout(tmp_path) -> None:
    with running_emulator(tmp_path / "org", session_timeout_s=1) as emulator:
        sf = client_for(jwt_login(emulator), str(emulator.ca_bundle))
        sf.limits()
        time.sleep(1.2)

        with pytest.raises(SalesforceExpiredSession):
            sf.limits()
