"""Ops work on drafts in the admin: publish validates, published versions are read-only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import timezone

from flywheel_site.roles import roles_sync
from routing.models import Assignment, RoutingPolicy, SegmentRule
from routing.services.policy import policy_draft_create
from salesforce.models import ChangeEvent

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:routing_routingpolicy_changelist"


@pytest.fixture
def ops_client(client):
    roles_sync()
    user = User.objects.create_user("olga", password="pw-12345-long", is_staff=True)
    user.groups.add(Group.objects.get(name="Ops"))
    client.force_login(user)
    return client


def test_publishing_an_invalid_draft_shows_the_errors_and_saves_nothing(ops_client, loaded_policy):
    draft = policy_draft_create(source=loaded_policy)
    SegmentRule.objects.filter(policy=draft, code="MM").update(min_employees=300)

    response = ops_client.post(
        reverse(CHANGELIST),
        {"action": "publish", "_selected_action": [draft.pk]},
        follow=True,
    )

    assert "Gap: 200-299 employees fits no segment." in response.content.decode()
    draft.refresh_from_db()
    assert draft.version is None and not draft.is_published
    assert RoutingPolicy.objects.get(is_active=True) == loaded_policy


def test_publishing_a_valid_draft_makes_it_active(ops_client, loaded_policy):
    draft = policy_draft_create(source=loaded_policy)

    ops_client.post(reverse(CHANGELIST), {"action": "publish", "_selected_action": [draft.pk]})

    draft.refresh_from_db()
    assert (draft.version, draft.is_active) == (2, True)


def test_published_version_is_read_only(ops_client, loaded_policy):
    url = reverse("admin:routing_routingpolicy_change", args=[loaded_policy.pk])

    page = ops_client.get(url)
    post = ops_client.post(url, {"note": "sneaky"})

    assert page.status_code == 200 and b'name="note"' not in page.content
    assert post.status_code == 403
    loaded_policy.refresh_from_db()
    assert loaded_policy.note != "sneaky"


def test_segment_rule_with_inverted_bounds_is_rejected_by_the_form(ops_client, loaded_policy):
    draft = policy_draft_create(source=loaded_policy)
    SegmentRule.objects.filter(policy=draft).delete()

    response = ops_client.post(
        reverse("admin:routing_segmentrule_add"),
        {"policy": draft.pk, "code": "SMB", "min_employees": 50, "max_employees": 10},
    )

    assert "The upper bound is below the lower bound." in response.content.decode()
    assert not SegmentRule.objects.filter(policy=draft).exists()


def test_rollback_action_republishes_the_old_version(ops_client, loaded_policy):
    ops_client.post(
        reverse(CHANGELIST), {"action": "roll_back", "_selected_action": [loaded_policy.pk]}
    )

    active = RoutingPolicy.objects.get(is_active=True)
    assert active.version == 2 and active.content_hash == loaded_policy.content_hash


def test_simulate_view_runs_a_draft_on_recent_leads(
    ops_client, loaded_policy, django_assert_max_num_queries
):
    ChangeEvent.objects.create(
        entity="Lead",
        change_type="CREATE",
        record_id="00Q5f000002aaaaAAA",
        fields={"Company": "Acme", "NumberOfEmployees": 5000, "Country": "Japan"},
        commit_timestamp=timezone.now() - dt.timedelta(days=1),
    )
    draft = policy_draft_create(source=loaded_policy)
    url = reverse("admin:routing_policy_simulate", args=[draft.pk])

    with django_assert_max_num_queries(40):
        page = ops_client.get(url + "?days=3")
    csv_file = ops_client.get(url + "?days=3&format=csv")

    assert page.status_code == 200
    assert "1 leads routed" in page.content.decode()
    assert "owner changes for 0" in page.content.decode()
    assert b"ENT,APAC" in csv_file.content


@pytest.mark.parametrize(
    "name",
    ["regioncountry", "ownerpool", "rep", "routingpolicy", "countryalias", "overriderule"],
)
def test_admin_lists_use_a_fixed_number_of_queries(
    ops_client, loaded_policy, name, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        response = ops_client.get(reverse(f"admin:routing_{name}_changelist"))

    assert response.status_code == 200


def test_pool_page_of_a_draft_offers_its_members_for_editing(ops_client, loaded_policy):
    draft = policy_draft_create(source=loaded_policy)
    pool = draft.pools.get(name="SMB NA")

    page = ops_client.get(reverse("admin:routing_ownerpool_change", args=[pool.pk]))

    assert page.status_code == 200
    assert b'name="members-0-weight"' in page.content


def test_assignment_ledger_is_read_only(admin_client, loaded_policy, django_assert_max_num_queries):
    Assignment.objects.create(
        lead_id="00Q5f000003aaaaAAA", decision_id=123, status="written", owner_id="005x"
    )

    with django_assert_max_num_queries(12):
        response = admin_client.get(reverse("admin:routing_assignment_changelist"))

    assert response.status_code == 200
    assert b"#123" in response.content
    assert admin_client.get(reverse("admin:routing_assignment_add")).status_code == 403


def test_simulating_an_invalid_draft_shows_why_instead(ops_client, loaded_policy):
    draft = policy_draft_create(source=loaded_policy)
    draft.overrides.update(set_pool="Nowhere")
    url = reverse("admin:routing_policy_simulate", args=[draft.pk])

    response = ops_client.get(url, follow=True)

    assert "Cannot simulate: Rule &#x27;Priority industries&#x27; sends leads to pool" in (
        response.content.decode()
    )


def test_operator_can_retry_failed_owner_writes(admin_client, loaded_policy, monkeypatch):
    from tests.routing.fakes import FakeClient

    client = FakeClient()
    monkeypatch.setattr("salesforce.client.get_client", lambda workload: client)
    failed = Assignment.objects.create(
        lead_id="00Q5f000003aaabAAA", status="failed", owner_id="0055f0000000001AAA", attempts=5
    )

    response = admin_client.post(
        reverse("admin:routing_assignment_changelist"),
        {"action": "retry_write", "_selected_action": [failed.pk]},
        follow=True,
    )

    assert "1 of 1 owner(s) written." in response.content.decode()
    assert client.written == {failed.lead_id: failed.owner_id}
    failed.refresh_from_db()
    assert failed.status == "written" and failed.attempts == 6
