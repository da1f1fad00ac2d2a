"""``manage.py sf_check``: is the Salesforce connection ready? One line per check, with the fix."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass

import requests
from django.core.management.base import BaseCommand, CommandError

from salesforce import auth, conf
from salesforce.client import SalesforceClient, SalesforceError, get_client
from salesforce.selection import cdc_selected_entities
from salesforce.usage import recorder

LEAD_FIELDS = ("First_Response_At__c", "First_Response_User__c", "Time_to_First_Response__c")
REQUIRED_SETTINGS = ("SF_LOGIN_URL", "SF_CONSUMER_KEY", "SF_USERNAME", "SF_PRIVATE_KEY_FILE")
LOW_API_SHARE = 0.1
CDC_ENTITIES = {
    "Lead": "new leads to route",
    "Task": "first responses by call and task",
    "EmailMessage": "first responses by email",
}
WORKLOAD = "sf_check"


@dataclass(frozen=True)
class Check:
    status: str  # "ok", "warn" or "fail"
    text: str
    fix: str = ""


MARKS = {"ok": "✓", "warn": "!", "fail": "✗"}


class Command(BaseCommand):
    help = (
        "Check the Salesforce connection: settings, private key, login, API limits, the Lead "
        "custom fields, Lead owner updates, Change Data Capture access and its entity selection."
    )

    def handle(self, *args: object, **options: object) -> None:
        checks = list(run_checks())
        for check in checks:
            self.stdout.write(f"{MARKS[check.status]} {check.text}")
            if check.fix:
                self.stdout.write(f"    Fix: {check.fix}")
        recorder.flush()
        failed = [check for check in checks if check.status == "fail"]
        if failed:
            raise CommandError(
                f"{len(failed)} Salesforce check(s) failed; see the fixes above and "
                "docs/SETUP.md, Troubleshooting."
            )
        self.stdout.write(self.style.SUCCESS("Salesforce is ready for Flywheel."))


def run_checks() -> Iterator[Check]:
    connection = conf.connection()
    missing = [name for name in REQUIRED_SETTINGS if not getattr(connection, _field(name))]
    if missing:
        yield Check(
            "fail",
            f"Settings not set: {', '.join(missing)}.",
            "Set them in the environment or .env (docs/SETUP.md, step 6).",
        )
        return
    yield from _key_file_checks(connection.private_key_file)
    try:
        token = auth.get_token(force_refresh=True)
    except auth.SalesforceAuthError as error:
        yield Check("fail", f"Login failed: {error.reason}", error.hint)
        yield Check("warn", "Skipped the other checks: they need a login.")
        return
    except auth.SalesforceUnavailable as error:
        yield Check("fail", f"Login failed: {error}", "Check SF_LOGIN_URL and the network.")
        yield Check("warn", "Skipped the other checks: they need a login.")
        return
    yield Check("ok", f"Logged in as {connection.username} (user {token.user_id}).")
    client = get_client(workload=WORKLOAD)
    for step in (_limits_check, _lead_checks, _cdc_check, _cdc_selection_check):
        try:
            yield from step(client, token)
        except SalesforceError as error:
            yield Check("fail", f"{step.__doc__} failed: {error}", "Run sf_check again later.")


def _field(setting: str) -> str:
    return setting.removeprefix("SF_").lower()


def _key_file_checks(path: str) -> Iterator[Check]:
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError as error:
        yield Check(
            "fail",
            f"Cannot read the private key file {path} ({error.strerror}).",
            "Check SF_PRIVATE_KEY_FILE.",
        )
        return
    if mode & 0o077:
        yield Check(
            "warn",
            f"The private key file {path} is readable by other users (mode {mode:04o}).",
            f"chmod 600 {path}",
        )
    else:
        yield Check("ok", f"The private key file is private (mode {mode:04o}).")


def _limits_check(client: SalesforceClient, token: auth.Token) -> Iterator[Check]:
    """Reading the API limits"""
    daily = client.limits().get("DailyApiRequests", {})
    maximum, remaining = int(daily.get("Max", 0)), int(daily.get("Remaining", 0))
    text = f"API requests in the last 24 hours: {maximum - remaining:,} of {maximum:,}"
    if remaining <= 0:
        yield Check(
            "fail",
            f"{text}: the limit is used up.",
            "Wait for the rolling 24-hour window, or raise the org's limit; Flywheel pauses "
            "its calls meanwhile (see /healthz).",
        )
    elif remaining < maximum * LOW_API_SHARE:
        yield Check("warn", f"{text}: less than 10% left.", "Reduce other integrations' calls.")
    else:
        yield Check("ok", f"{text}.")


def _lead_checks(client: SalesforceClient, token: auth.Token) -> Iterator[Check]:
    """Describing Lead"""
    fields = {field["name"]: field for field in client.describe("Lead").get("fields", [])}
    missing = [name for name in LEAD_FIELDS if name not in fields]
    if missing:
        yield Check(
            "fail",
            f"Lead is missing the custom field(s) {', '.join(missing)}.",
            "Deploy salesforce_metadata/ (docs/SETUP.md, step 3) and assign the Flywheel "
            "permission set to the integration user (field-level security hides fields).",
        )
    else:
        yield Check("ok", f"Lead has the custom fields {', '.join(LEAD_FIELDS)}.")
    if fields.get("OwnerId", {}).get("updateable"):
        yield Check("ok", "The integration user can change Lead owners (OwnerId updateable).")
    else:
        yield Check(
            "fail",
            "The integration user cannot change Lead owners (OwnerId not updateable).",
            "Give the user Edit on Lead and Transfer Leads: assign the Flywheel permission set.",
        )


def _cdc_check(client: SalesforceClient, token: auth.Token) -> Iterator[Check]:
    """Reaching Change Data Capture"""
    url = f"{token.instance_url}/cometd/{conf.connection().api_version}"
    handshake = [
        {
            "channel": "/meta/handshake",
            "version": "1.0",
            "minimumVersion": "1.0",
            "supportedConnectionTypes": ["long-polling"],
        }
    ]
    fix = (
        "Enable Change Data Capture for Lead, Task and EmailMessage (Setup, Change Data "
        "Capture) and give the user API Enabled; or run `manage.py listen --polling`."
    )
    try:
        response = auth.http_session().post(
            url,
            json=handshake,
            headers={"Authorization": f"Bearer {token.access_token}"},
            timeout=conf.http_timeout_seconds(),
        )
        reply = response.json() if response.ok else None
    except (requests.RequestException, ValueError) as error:
        recorder.record(workload=WORKLOAD, endpoint="cometd", ok=False)
        yield Check("fail", f"The streaming endpoint {url} did not answer ({error}).", fix)
        return
    ok = isinstance(reply, list) and bool(reply) and reply[0].get("successful") is True
    recorder.record(workload=WORKLOAD, endpoint="cometd", ok=ok)
    if ok:
        yield Check("ok", "Change Data Capture is reachable (CometD handshake accepted).")
    else:
        detail = (
            reply[0].get("error") if isinstance(reply, list) and reply else response.status_code
        )
        yield Check("fail", f"The CometD handshake at {url} was refused ({detail}).", fix)


def _cdc_selection_check(client: SalesforceClient, token: auth.Token) -> Iterator[Check]:
    """Reading the Change Data Capture selection"""
    try:
        selected = cdc_selected_entities(client)
    except SalesforceError as error:
        yield Check(
            "warn",
            f"Could not read which objects are selected for Change Data Capture ({error}).",
            "Give the integration user View Setup and Configuration, or check Setup → "
            "Change Data Capture by hand: Lead, Task and Email Message must be selected.",
        )
        return
    missing = [entity for entity in CDC_ENTITIES if entity not in selected]
    if not missing:
        yield Check("ok", "Change Data Capture is selected for Lead, Task and EmailMessage.")
        return
    lost = " and ".join(CDC_ENTITIES[entity] for entity in missing)
    yield Check(
        "fail" if "Lead" in missing else "warn",
        f"Change Data Capture is not selected for {', '.join(missing)}: the listener gets no "
        f"events for it, so Flywheel misses {lost}.",
        "Setup → Integrations → Change Data Capture → move them to Selected Entities (Email "
        "Message needs Enhanced Email). Meanwhile `manage.py listen` polls them beside the "
        "stream when it can read the selection.",
    )
