"""The fact table's admin list stays cheap whatever the number of facts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model

from ttfr.models import LeadFact

pytestmark = pytest.mark.django_db


def test_fact_list_query_count_does_not_grow_with_rows(client, django_assert_max_num_queries):
    admin = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw")
    client.force_login(admin)
    start = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    LeadFact.objects.bulk_create(
        LeadFact(
            lead_id=f"00Q5f{i:010d}AAA",
            created_at=start + dt.timedelta(minutes=i),
            team="NA",
            ttfr_minutes=float(i),
        )
        for i in range(300)
    )
    with django_assert_max_num_queries(12):
        response = client.get("/admin/ttfr/leadfact/?team__exact=NA")
    assert response.status_code == 200
    assert b"00Q5f0000000299AAA" in response.content
