"""Shared fixtures for the flywheel tests: a schema, rules, deciding helpers and staff users."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from flywheel.gateway import Rules, decide
from flywheel_site.roles import LABELERS, roles_sync

SCHEMA = {
    "type": "object",
    "properties": {
        "segment": {"type": "string", "enum": ["SMB", "MM", "ENT", "UNKNOWN"]},
        "owner_id": {"type": ["string", "null"]},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "reason": {"type": "string", "maxLength": 200},
    },
    "required": ["segment", "reason"],
    "additionalProperties": False,
}
RULES_OUTPUT = {"segment": "SMB", "owner_id": "005000000000001AAA", "reason": "12 employees"}
MESSAGES = [
    {"role": "system", "content": "You route leads."},
    {"role": "user", "content": '{"Company": "Acme", "NumberOfEmployees": 12}'},
]


def smb_rules(_context: dict) -> Rules:
    return Rules(output=dict(RULES_OUTPUT), confidence=0.95, explanation="12 employees → SMB")


@pytest.fixture
def decide_case():
    """Decide one routing-like case; keyword arguments override the defaults."""

    def run(**overrides):
        arguments = {
            "workload": "routing",
            "subject_id": "00Q000000000001AAA",
            "context": {"lead": {"Company": "Acme", "NumberOfEmployees": 12}},
            "messages": MESSAGES,
            "prompt_version": "routing-v1",
            "output_schema": SCHEMA,
            "rules": smb_rules,
            "use_llm": False,
            "policy_version": 3,
        }
        return decide(**{**arguments, **overrides})

    return run


def staff_user(name: str, role: str) -> User:
    """A staff user in the ``role`` group (the role groups synced first)."""
    roles_sync()
    user = User.objects.create_user(name, password="pw-12345-long", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def labeler() -> User:
    return staff_user("lina", LABELERS)


@pytest.fixture
def labeler_client(client, labeler):
    client.force_login(labeler)
    return client
