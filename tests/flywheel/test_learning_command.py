"""manage.py train_model end to end, and the model versions' admin (Ops promote, confirmed)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.urls import reverse

from flywheel.deciders import lineup_for
from flywheel.models import ModelVersion
from flywheel_site.roles import roles_sync
from tests.flywheel import test_learning_helpers as helpers
from tests.flywheel.test_learning_helpers import routing_labelled, templates_labelled

pytestmark = pytest.mark.django_db
_clean_serving = helpers._clean_serving
templates_loaded = helpers.templates_loaded
CHANGELIST = "admin:flywheel_modelversion_changelist"


def train(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("train_model", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def staff_client(client, role: str):
    roles_sync()
    user = User.objects.create_user(f"{role.lower()}-user", password="pw-12345-long", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return client


def test_command_refuses_with_a_clear_message_below_the_minimum(templates_loaded):
    templates_labelled(templates_loaded, rows=[("How much for 10 seats?", "pricing")] * 3)

    with pytest.raises(CommandError, match=r"Only 3 labelled templates decision\(s\).*at least 50"):
        train("--workload", "templates", "--min-labels", "50")
    assert not ModelVersion.objects.exists()


def test_command_trains_prints_metrics_and_comparison_and_starts_a_shadow(templates_loaded):
    # given the labelled inquiries
    templates_labelled(templates_loaded)
    # when the command trains and asks for shadow mode
    out, err = train("--workload", "templates", "--min-labels", "50", "--mode", "shadow")
    # then it shows progress, metrics and the comparison, and the version shadows the champion
    assert "save" in err and "6/6" in err
    assert "Saved local:templates:v1" in out and "mode shadow" in out
    assert "Held-out accuracy" in out and "expected calibration error" in out
    assert "pricing" in out and "precision" in out
    assert "Comparison on the same held-out cases:" in out
    assert "local:templates:v1" in out.split("Comparison")[1]
    assert "recorded: rules" in out
    version = ModelVersion.objects.get()
    assert version.mode == "shadow"
    assert lineup_for("templates").challenger_mode == "shadow"


def test_command_ab_mode_with_share_for_routing(db):
    routing_labelled(repeats=4)

    out, _ = train(
        "--workload", "routing", "--min-labels", "20", "--mode", "ab", "--ab-share", "0.25"
    )

    version = ModelVersion.objects.get(workload="routing")
    assert (version.mode, version.ab_share) == ("ab", 0.25)
    assert "segment: accuracy" in out and "region: accuracy" in out


def test_command_rejects_a_share_outside_zero_to_one(db):
    with pytest.raises(CommandError, match="--ab-share must be between 0 and 1"):
        train("--workload", "routing", "--mode", "ab", "--ab-share", "1.5")


@pytest.fixture
def trained(db) -> ModelVersion:
    routing_labelled(repeats=4)
    return train("--workload", "routing", "--min-labels", "20") and ModelVersion.objects.get()


def test_ops_promote_after_confirming(client, trained, django_assert_max_num_queries):
    ops = staff_client(client, "Ops")
    url = reverse(CHANGELIST)
    with django_assert_max_num_queries(15):
        listing = ops.get(url)
    assert listing.status_code == 200 and b"dict-vectorizer/logistic-regression" in listing.content
    # when Ops picks "make champion", a confirmation page comes first and nothing changes
    form = {"action": "make_champion", "_selected_action": [trained.pk]}
    confirm = ops.post(url, form)
    assert confirm.status_code == 200 and b"Confirm: make champion" in confirm.content
    trained.refresh_from_db()
    assert trained.mode == "off"
    # then confirming makes it champion and the gateway's lineup follows
    done = ops.post(url, {**form, "confirm": "yes"}, follow=True)
    assert done.status_code == 200
    trained.refresh_from_db()
    assert trained.mode == "champion" and trained.history[-1]["by"] == "ops-user"
    assert lineup_for("routing").champion.model_name == "local:routing:v1"
    # and switching it off hands the workload back to the LLM
    ops.post(url, {"action": "switch_off", "_selected_action": [trained.pk], "confirm": "yes"})
    trained.refresh_from_db()
    assert trained.mode == "off" and lineup_for("routing").champion is None


def test_managers_see_versions_but_cannot_promote(client, trained):
    managers = staff_client(client, "Managers")
    url = reverse(CHANGELIST)

    listing = managers.get(url)
    managers.post(
        url, {"action": "make_champion", "_selected_action": [trained.pk], "confirm": "yes"}
    )

    assert listing.status_code == 200 and b"make_champion" not in listing.content
    trained.refresh_from_db()
    assert trained.mode == "off"


def test_version_page_shows_metrics_and_comparison(client, trained):
    ops = staff_client(client, "Ops")

    page = ops.get(reverse("admin:flywheel_modelversion_change", args=[trained.pk]))

    body = page.content.decode()
    assert page.status_code == 200
    assert "Comparison on the same held-out cases" in body and "recorded: fallback" in body
    assert "Expected calibration error" in body and "precision" in body
