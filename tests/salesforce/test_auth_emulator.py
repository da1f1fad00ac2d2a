"""JWT login against the emulator: one token shared by all clients, refreshed when it must be,
plain-language refusals, and no secret in logs or errors."""

import logging
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from salesforce import auth
from salesforce.auth import SalesforceAuthError, get_token
from salesforce.client import get_client

pytestmark = pytest.mark.django_db


def login_count(emulator) -> int:
    return emulator.control("GET", "/__emulator__/stats").json()["by_endpoint"].get("POST oauth", 0)


def write_other_key(path: Path) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    return str(path)


def test_login_returns_a_token_for_the_integration_user(sf_settings):
    token = get_token()

    assert token.instance_url == sf_settings.url
    assert token.user_id.startswith("005")
    assert token.access_token not in repr(token)


def test_two_clients_and_a_second_process_share_one_login(sf_settings):
    get_client(workload="routing").limits()
    get_client(workload="ttfr").describe("Lead")
    auth._process_tokens.clear()  # what a second worker process starts with
    get_client(workload="templates").limits()

    assert login_count(sf_settings) == 1


def test_concurrent_first_calls_log_in_once(sf_settings):
    threads = [threading.Thread(target=get_token) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert login_count(sf_settings) == 1


def test_expired_session_is_refreshed_and_the_call_retried_once(sf_settings):
    client = get_client(workload="routing")
    client.limits()
    sf_settings.control("POST", "/__emulator__/faults", json={"expire_sessions": True})

    limits = client.limits()

    assert limits["DailyApiRequests"]["Max"] > 0
    assert login_count(sf_settings) == 2


def test_token_is_reused_until_five_minutes_before_the_session_timeout(sf_settings, settings):
    settings.SF_SESSION_TIMEOUT_SECONDS = 5 * 60 + 60  # a minute of use before renewal

    first, second = get_token(), get_token()

    assert second == first
    assert login_count(sf_settings) == 1


def test_token_inside_the_last_five_minutes_is_renewed(sf_settings, settings):
    settings.SF_SESSION_TIMEOUT_SECONDS = 5 * 60 - 1  # already inside the renewal margin

    first, second = get_token(), get_token()

    assert second.access_token != first.access_token
    assert login_count(sf_settings) == 2


def test_wrong_private_key_says_the_key_does_not_match_the_certificate(
    sf_settings, settings, tmp_path
):
    settings.SF_PRIVATE_KEY_FILE = write_other_key(tmp_path / "other.pem")

    with pytest.raises(SalesforceAuthError) as failure:
        get_token()

    assert failure.value.description == "invalid assertion"
    assert "does not match the certificate" in str(failure.value)


def test_unknown_user_says_to_preauthorise_the_connected_app(sf_settings, settings):
    settings.SF_USERNAME = "nobody@example.com"

    with pytest.raises(SalesforceAuthError) as failure:
        get_token()

    assert "user hasn't approved this consumer" in str(failure.value)
    assert "Pre-authorise the Connected App" in failure.value.hint
    assert "nobody@example.com" in failure.value.hint


def test_wrong_consumer_key_says_to_copy_it_again(sf_settings, settings):
    settings.SF_CONSUMER_KEY = "3MVG9wrong"

    with pytest.raises(SalesforceAuthError) as failure:
        get_token()

    assert failure.value.error == "invalid_client_id"
    assert "SF_CONSUMER_KEY" in failure.value.hint


def test_wrong_audience_says_which_login_url_to_use(sf_settings, settings):
    settings.SF_JWT_AUDIENCE = "https://login.salesforce.com"

    with pytest.raises(SalesforceAuthError) as failure:
        get_token()

    assert "audience is invalid" in str(failure.value)
    assert "https://test.salesforce.com" in failure.value.hint


def test_untrusted_certificate_says_to_set_the_ca_bundle(sf_settings, settings):
    settings.SF_CA_BUNDLE = ""

    with pytest.raises(SalesforceAuthError) as failure:
        get_token()

    assert "SF_CA_BUNDLE" in failure.value.hint


def test_secrets_never_reach_logs_or_errors(sf_settings, settings, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    key_text = Path(settings.SF_PRIVATE_KEY_FILE).read_text()
    key_body = key_text.splitlines()[1]
    client = get_client(workload="routing")
    client.limits()
    token = get_token()
    sf_settings.control("POST", "/__emulator__/faults", json={"expire_sessions": True})
    client.limits()
    settings.SF_PRIVATE_KEY_FILE = write_other_key(tmp_path / "other.pem")
    auth.clear_token_cache()
    with pytest.raises(SalesforceAuthError) as failure:
        get_token()

    seen = caplog.text + str(failure.value) + repr(failure.value)
    assert token.access_token not in seen
    assert key_body not in seen
    assert "eyJ" not in seen  # no JWT assertion


def test_integration_user_is_the_login_user_unless_configured(sf_settings, settings):
    from salesforce.conf import integration_user_id

    settings.SF_INTEGRATION_USER_ID = ""
    from_login = integration_user_id()
    settings.SF_INTEGRATION_USER_ID = "0055f00000000ZZAAA"

    assert from_login == get_token().user_id and from_login.startswith("005")
    assert integration_user_id() == "0055f00000000ZZAAA"
