"""What a first start gives the app: credentials, connection.env, and an org seeded with the users
and queues of the default routing policy."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from simple_salesforce import Salesforce

from sf_emulator.certs import ensure_credentials
from sf_emulator.ids import is_valid_id
from sf_emulator.testing import EmulatorProcess

pytestmark = pytest.mark.integration
POLICY = Path(__file__).resolve().parents[2] / "config" / "routing_policy.json"
ENV_KEYS = ["SF_LOGIN_URL", "SF_CONSUMER_KEY", "SF_USERNAME", "SF_PRIVATE_KEY_FILE", "SF_CA_BUNDLE"]


def test_first_start_writes_the_credentials_and_connection_env(emulator: EmulatorProcess):
    state = emulator.state_dir
    env = emulator.connection_env

    assert list(env) == ENV_KEYS
    assert env["SF_LOGIN_URL"] == emulator.url
    assert env["SF_CA_BUNDLE"] == str(state / "ca.pem")
    assert env["SF_PRIVATE_KEY_FILE"] == str(state / "app_private_key.pem")
    assert env["SF_CONSUMER_KEY"] == (state / "consumer_key.txt").read_text().strip()
    assert stat.S_IMODE((state / "app_private_key.pem").stat().st_mode) == 0o600
    assert (state / "org.sqlite3").exists()
    # The registered certificate holds the public half of the key the app signs with
    key = serialization.load_pem_private_key(
        Path(env["SF_PRIVATE_KEY_FILE"]).read_bytes(), password=None
    )
    cert = x509.load_pem_x509_certificate((state / "app_cert.pem").read_bytes())
    assertion = jwt.encode({"sub": "x"}, key, algorithm="RS256")  # type: ignore[arg-type]
    assert jwt.decode(assertion, cert.public_key(), algorithms=["RS256"]) == {"sub": "x"}  # type: ignore[arg-type]


def test_https_is_trusted_through_the_ca_bundle_only(emulator: EmulatorProcess):
    env = emulator.connection_env
    with requests.Session() as http:
        http.trust_env = False
        assert http.get(emulator.url + "/services/data/", verify=env["SF_CA_BUNDLE"]).ok
        with pytest.raises(requests.exceptions.SSLError):
            http.get(emulator.url + "/services/data/", verify=True)


def test_credentials_are_generated_once_and_kept(tmp_path: Path):
    first = ensure_credentials(state_dir=tmp_path)
    ca, key = first.ca_path.read_bytes(), first.app_private_key_path.read_bytes()

    again = ensure_credentials(state_dir=tmp_path)

    assert again.consumer_key == first.consumer_key
    assert again.ca_path.read_bytes() == ca
    assert again.app_private_key_path.read_bytes() == key


def test_seeded_org_has_every_user_and_queue_the_default_policy_names(sf: Salesforce):
    policy = json.loads(POLICY.read_text())
    users = {
        row["Id"]: row
        for row in sf.query_all("SELECT Id, Name, Department, IsActive FROM User")["records"]
    }
    queues = {
        row["Id"]: row["Name"]
        for row in sf.query_all("SELECT Id, Name FROM Group WHERE Type = 'Queue'")["records"]
    }

    # Every id is a real-shaped 18-character id with its key prefix
    assert all(is_valid_id(uid) and len(uid) == 18 and uid[:3] == "005" for uid in users)
    assert all(is_valid_id(qid) and len(qid) == 18 and qid[:3] == "00G" for qid in queues)
    # The integration user and the 20 sales reps, every rep in the team the policy gives them
    assert len(users) == 21
    for rep in policy["reps"]:
        assert users[rep["user_id"]]["Name"] == rep["name"]
        assert users[rep["user_id"]]["Department"] == rep["team"]
        assert users[rep["user_id"]]["IsActive"] is True
    # Every queue the policy routes to exists under the same id and name
    assert queues[policy["fallback_queue"]["id"]] == policy["fallback_queue"]["name"]
    for pool in policy["pools"]:
        assert queues[pool["queue_id"]] == pool["queue_name"]
        assert {member["user_id"] for member in pool["members"]} <= set(users)
