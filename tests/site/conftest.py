"""Fixtures shared by the site tests."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from flywheel_site.roles import MANAGERS


@pytest.fixture
def manager_client(client, db):
    """A client signed in as a sales manager (sees every dashboard)."""
    user = User.objects.create_user("manager", password="pw-long-enough-1")
    user.groups.add(Group.objects.get(name=MANAGERS))
    client.force_login(user)
    return client
