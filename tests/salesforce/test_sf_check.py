"""manage.py sf_check: green on a ready org, and a failure that says what to fix otherwise."""

from io import StringIO
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management import CommandError, call_command

from salesforce.client import SalesforceClient, SalesforceRequestError

pytestmark = pytest.mark.django_db


def run_check() -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("sf_check", stdout=out)
    except CommandError as error:
        return out.getvalue(), error
    return out.getvalue(), None


def copy_key(source: str, target: Path, mode: int) -> str:
    target.write_bytes(Path(source).read_bytes())
    target.chmod(mode)
    return str(target)


def test_check_is_green_on_a_ready_org(sf_settings):
    output, error = run_check()

    assert error is None, output
    assert "✗" not in output
    for line in (
        "✓ The private key file is private (mode 0600).",
        "✓ Logged in as integration@flywheel.demo",
        "✓ API requests in the last 24 hours:",
        "✓ Lead has the custom fields First_Response_At__c, First_Response_User__c, "
        "Time_to_First_Response__c.",
        "✓ The integration user can change Lead owners",
        "✓ Change Data Capture is reachable",
        "✓ Change Data Capture is selected for Lead, Task and EmailMessage.",
        "Salesforce is ready for Flywheel.",
    ):
        assert line in output


def test_wrong_key_fails_and_says_to_upload_the_matching_certificate(
    sf_settings, settings, tmp_path
):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "wrong.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    settings.SF_PRIVATE_KEY_FILE = str(path)

    output, error = run_check()

    assert error is not None
    assert "✗ Login failed" in output and "invalid assertion" in output
    assert "Fix: The signature did not verify" in output
    assert "Upload the certificate made from this key" in output


def test_wrong_username_fails_and_says_to_preauthorise_the_app(sf_settings, settings):
    settings.SF_USERNAME = "someone.else@flywheel.demo"

    output, error = run_check()

    assert error is not None
    assert "user hasn't approved this consumer" in output
    assert "Pre-authorise the Connected App" in output
    assert "someone.else@flywheel.demo" in output
    assert "Skipped the other checks" in output


def test_missing_custom_field_fails_and_says_to_deploy_the_metadata(sf_settings, monkeypatch):
    describe = SalesforceClient.describe

    def describe_without_first_response(self, sobject):
        body = describe(self, sobject)
        body["fields"] = [f for f in body["fields"] if f["name"] != "First_Response_At__c"]
        return body

    monkeypatch.setattr(SalesforceClient, "describe", describe_without_first_response)

    output, error = run_check()

    assert error is not None
    assert "✗ Lead is missing the custom field(s) First_Response_At__c." in output
    assert "Deploy salesforce_metadata/" in output
    assert "✓ The integration user can change Lead owners" in output


def test_owner_not_updateable_fails_with_the_permission_to_grant(sf_settings, monkeypatch):
    describe = SalesforceClient.describe

    def describe_read_only_owner(self, sobject):
        body = describe(self, sobject)
        for field in body["fields"]:
            if field["name"] == "OwnerId":
                field["updateable"] = False
        return body

    monkeypatch.setattr(SalesforceClient, "describe", describe_read_only_owner)

    output, error = run_check()

    assert error is not None
    assert "✗ The integration user cannot change Lead owners" in output
    assert "Transfer Leads" in output


def test_readable_key_file_is_a_warning_with_chmod(sf_settings, settings, tmp_path):
    settings.SF_PRIVATE_KEY_FILE = copy_key(
        settings.SF_PRIVATE_KEY_FILE, tmp_path / "key.pem", 0o644
    )

    output, error = run_check()

    assert error is None, output
    assert "! The private key file" in output and "(mode 0644)" in output
    assert f"Fix: chmod 600 {tmp_path / 'key.pem'}" in output


def test_exhausted_api_limit_is_reported(sf_settings):
    sf_settings.control("POST", "/__emulator__/faults", json={"limit_exhausted": True})

    output, error = run_check()

    assert error is not None
    assert "✗ Reading the API limits failed" in output
    assert "REQUEST_LIMIT_EXCEEDED" in output


def test_missing_settings_are_named(sf_settings, settings):
    settings.SF_CONSUMER_KEY = ""

    output, error = run_check()

    assert error is not None
    assert "✗ Settings not set: SF_CONSUMER_KEY." in output


def test_an_object_not_selected_for_cdc_is_a_warning_that_names_what_is_missed(sf_settings):
    sf_settings.control("POST", "/__emulator__/stream", json={"selected_entities": ["Lead"]})

    output, error = run_check()

    assert error is None, output
    assert (
        "! Change Data Capture is not selected for Task, EmailMessage: the listener gets no "
        "events for it, so Flywheel misses first responses by call and task and first responses "
        "by email." in output
    )
    assert "move them to Selected Entities" in output


def test_lead_not_selected_for_cdc_fails(sf_settings):
    sf_settings.control(
        "POST", "/__emulator__/stream", json={"selected_entities": ["Task", "EmailMessage"]}
    )

    output, error = run_check()

    assert error is not None
    assert "✗ Change Data Capture is not selected for Lead" in output


def test_an_unreadable_cdc_selection_is_a_warning_with_the_manual_check(sf_settings, monkeypatch):
    def refuse(self, soql):
        raise SalesforceRequestError(
            endpoint="tooling_query", status=403, errors=[{"errorCode": "INSUFFICIENT_ACCESS"}]
        )

    monkeypatch.setattr(SalesforceClient, "tooling_query", refuse)

    output, error = run_check()

    assert error is None, output
    assert "! Could not read which objects are selected for Change Data Capture" in output
    assert "View Setup and Configuration" in output
