"""The JWT bearer assertion carries exactly what Salesforce checks, signed RS256."""

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from salesforce import conf
from salesforce.auth import ASSERTION_LIFETIME_SECONDS, build_assertion


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_assertion_has_issuer_subject_audience_and_short_expiry(private_key):
    now = time.time()

    assertion = build_assertion(
        consumer_key="3MVG9consumer",
        username="integration@example.com",
        audience="https://login.salesforce.com",
        private_key=private_key,
        now=now,
    )

    claims = jwt.decode(
        assertion,
        private_key.public_key(),
        algorithms=["RS256"],
        audience="https://login.salesforce.com",
    )
    assert claims["iss"] == "3MVG9consumer"
    assert claims["sub"] == "integration@example.com"
    assert claims["aud"] == "https://login.salesforce.com"
    assert 0 < claims["exp"] - now <= 180
    assert ASSERTION_LIFETIME_SECONDS <= 180


def test_assertion_is_signed_rs256_with_nothing_else_in_the_header(private_key):
    assertion = build_assertion(
        consumer_key="key", username="u@example.com", audience="a", private_key=private_key, now=0
    )

    assert jwt.get_unverified_header(assertion) == {"alg": "RS256"}


def test_assertion_signed_by_another_key_does_not_verify(private_key):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assertion = build_assertion(
        consumer_key="key", username="u", audience="a", private_key=other, now=time.time()
    )

    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(assertion, private_key.public_key(), algorithms=["RS256"], audience="a")


@pytest.mark.parametrize(
    ("login_url", "audience"),
    [
        ("https://login.salesforce.com", "https://login.salesforce.com"),
        ("https://test.salesforce.com/", "https://test.salesforce.com"),
        ("https://acme.my.salesforce.com", "https://login.salesforce.com"),
        ("https://acme--uat.sandbox.my.salesforce.com", "https://test.salesforce.com"),
        ("https://127.0.0.1:8443", "https://127.0.0.1:8443"),
    ],
)
def test_audience_is_the_authorization_server_for_the_login_url(login_url, audience):
    assert conf.jwt_audience(login_url) == audience


def test_audience_setting_overrides_the_derived_one(settings):
    settings.SF_LOGIN_URL = "https://acme.my.salesforce.com"
    settings.SF_JWT_AUDIENCE = "https://test.salesforce.com"

    assert conf.connection().audience == "https://test.salesforce.com"
