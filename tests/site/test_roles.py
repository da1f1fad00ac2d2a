"""The three roles exist as groups after migrate and log in through the normal login page."""

import pytest
from django.contrib.auth.models import Group, User

from flywheel_site.roles import LABELERS, MANAGERS, OPS, ROLE_PERMISSIONS, _expand, has_role


@pytest.mark.django_db
def test_migrate_creates_the_three_role_groups():
    assert set(Group.objects.values_list("name", flat=True)) >= {OPS, MANAGERS, LABELERS}


@pytest.mark.django_db
def test_migrate_grants_every_declared_permission_of_every_app():
    for role, specs in ROLE_PERMISSIONS.items():
        granted = set(
            Group.objects.get(name=role).permissions.values_list(
                "content_type__app_label", "codename"
            )
        )
        wanted = {pair for spec in specs for pair in _expand(spec)}
        assert wanted <= granted, (role, wanted - granted)


@pytest.mark.django_db
def test_has_role_follows_group_membership_and_superuser():
    manager = User.objects.create_user("mia", password="pw-12345-long")
    manager.groups.add(Group.objects.get(name=MANAGERS))
    nobody = User.objects.create_user("nora", password="pw-12345-long")
    root = User.objects.create_superuser("root", password="pw-12345-long")

    assert has_role(manager, MANAGERS, OPS)
    assert not has_role(manager, LABELERS)
    assert not has_role(nobody, MANAGERS, OPS, LABELERS)
    assert has_role(root, LABELERS)


@pytest.mark.django_db
def test_login_page_signs_a_user_in(client):
    User.objects.create_user("lea", password="pw-12345-long")

    page = client.get("/accounts/login/")
    response = client.post("/accounts/login/", {"username": "lea", "password": "pw-12345-long"})

    assert page.status_code == 200 and b"Sign in" in page.content
    assert response.status_code == 302
    assert client.session.get("_auth_user_id")


@pytest.mark.django_db
def test_healthz_answers_without_login(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["database"] == "ok"
