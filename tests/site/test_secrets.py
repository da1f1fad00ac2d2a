"""Secrets stay out of the repository, the logs and the decision rows."""

from __future__ import annotations

import io
import logging
import re
import subprocess
from pathlib import Path

import pytest

from flywheel.gateway import Rules, decide
from flywheel.models import Decision

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_NAMES = re.compile(r"(^|/)(\.env|id_rsa|id_ed25519)$|\.(pem|key|p12|pfx|sqlite3)$")
SECRET_SHAPES = {
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----\s*\n[A-Za-z0-9+/=\s]{40,}"),
    "Anthropic key": re.compile(r"sk-ant-[A-Za-z0-9]{2,}-[A-Za-z0-9_-]{40,}"),
    "AWS key": re.compile(r"AKIA[0-9A-Z]{16}"),
    "Salesforce token": re.compile(r"00D[0-9A-Za-z]{12,15}![0-9A-Za-z._]{40,}"),
    "GitHub token": re.compile(r"gh[pousr]_[A-Za-z0-9]{36,}"),
}
API_KEY = "sk-ant-api03-" + "Zq8" * 30
SF_TOKEN = "00D5f000000Abcd!AQ" + "x9Y" * 30


def _tracked_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    return [name for name in listed.split("\0") if name]


def test_no_key_env_or_database_file_is_tracked():
    tracked = _tracked_files()

    assert tracked
    assert [name for name in tracked if FORBIDDEN_NAMES.search(name)] == []


def test_no_tracked_file_holds_a_secret():
    found = []
    for name in _tracked_files():
        path = ROOT / name
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        text = path.read_bytes().decode("utf-8", errors="ignore")
        found += [f"{name}: {kind}" for kind, shape in SECRET_SHAPES.items() if shape.search(text)]

    assert found == []


@pytest.fixture
def console() -> io.StringIO:
    """The configured console handler (with its redaction filter) writing into a buffer."""
    handler = next(h for h in logging.getLogger().handlers if h.filters)
    buffer = io.StringIO()
    old = handler.setStream(buffer)
    yield buffer
    handler.setStream(old)


def test_log_lines_never_carry_the_api_key_or_a_salesforce_token(console, settings):
    settings.ANTHROPIC_API_KEY = API_KEY
    logger = logging.getLogger("salesforce.auth")

    logger.warning("login answered %s", {"access_token": SF_TOKEN, "instance_url": "https://x"})
    logger.warning("calling with Authorization: Bearer %s", SF_TOKEN)
    logger.warning("anthropic key %s rejected", API_KEY)
    try:
        raise RuntimeError(f"session {SF_TOKEN} expired; key {API_KEY}")
    except RuntimeError:
        logger.exception("request failed")

    output = console.getvalue()
    assert "request failed" in output and "RuntimeError" in output
    assert SF_TOKEN not in output and SF_TOKEN[:20] not in output
    assert API_KEY not in output and API_KEY[:20] not in output


def _rules_decision_with(leaky: str) -> dict:
    result = decide(
        workload="routing",
        subject_id="00Q5f0000000001AAA",
        context={"Description": leaky},
        messages=[{"role": "user", "content": leaky}],
        prompt_version="v1",
        output_schema={"type": "object"},
        rules=lambda ctx: Rules(output={"note": leaky}, confidence=0.5, explanation=leaky),
        use_llm=False,
    )
    return Decision.objects.filter(pk=result.decision_id).values().get()


@pytest.mark.django_db
def test_decision_rows_never_carry_the_api_key(settings):
    settings.ANTHROPIC_API_KEY = API_KEY

    row = _rules_decision_with(f"key {API_KEY} in lead text")

    assert [name for name, value in row.items() if API_KEY in repr(value)] == []


@pytest.mark.django_db
def test_decision_rows_never_carry_a_salesforce_token():
    row = _rules_decision_with(f"token {SF_TOKEN} in lead text")

    assert [name for name, value in row.items() if SF_TOKEN in repr(value)] == []
