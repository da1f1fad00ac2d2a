"""simulate_routing and the admin's simulation download: CSV in, decisions out, no writes, formula
cells (header included, leading blanks included) neutralised, diff summary."""

from __future__ import annotations

import csv
import datetime as dt
from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from flywheel_site.roles import OPS, roles_sync
from routing.models import Assignment, SegmentRule
from routing.services.policy import policy_draft_create, policy_publish
from salesforce.models import ChangeEvent

pytestmark = pytest.mark.django_db
WEDNESDAY_NOON_NY = "2026-11-25T17:00:00+00:00"

LEADS = """Id,Company,NumberOfEmployees,Country,Industry,LeadSource,Description
00Q5f000001aaaaAAA,Acme,1250,Deutschland,Retail,Web,hello
00Q5f000001aaabAAA,Tiny,12,USA,Retail,Web,
00Q5f000001aaacAAA,Bank,30,UK,Banking,Web,
00Q5f000001aaadAAA,Vague,about 500,Brasil,,Web,
00Q5f000001aaaeAAA,=HYPERLINK(1),150,US,,Web,@SUM(A1)
"""


def _run(tmp_path, *extra: str, leads: str = LEADS) -> tuple[list[dict], str]:
    source = tmp_path / "leads.csv"
    source.write_text(leads)
    target = tmp_path / "decisions.csv"
    out = StringIO()
    call_command(
        "simulate_routing",
        "--input",
        str(source),
        "--output",
        str(target),
        "--at",
        WEDNESDAY_NOON_NY,
        *extra,
        stdout=out,
    )
    return list(csv.DictReader(target.open())), out.getvalue()


def test_simulation_round_trips_the_csv_and_adds_decisions(loaded_policy, tmp_path):
    rows, out = _run(tmp_path)

    assert [r["Id"] for r in rows] == [
        "00Q5f000001aaaaAAA",
        "00Q5f000001aaabAAA",
        "00Q5f000001aaacAAA",
        "00Q5f000001aaadAAA",
        "00Q5f000001aaaeAAA",
    ]
    assert [(r["segment"], r["region"]) for r in rows] == [
        ("ENT", "EMEA"),
        ("SMB", "NA"),
        ("ENT", "EMEA"),
        ("UNKNOWN", "LATAM"),
        ("SMB", "NA"),
    ]
    assert rows[0]["reason"].startswith(
        "ENT because 1,250 employees; EMEA because 'Deutschland' = DE"
    )
    assert rows[3]["decided_by"] == "fallback"
    assert rows[3]["owner_id"] == "00G5f0000000007EAA"
    assert "non-numeric employee count 'about 500'" in rows[3]["reason"]
    assert rows[1]["decided_by"] == "rules" and rows[1]["owner_id"].startswith("005")
    assert "5 leads routed with policy version 1" in out
    assert not Assignment.objects.exists()


def test_formula_cells_are_neutralised(loaded_policy, tmp_path):
    rows, _ = _run(tmp_path)

    assert rows[4]["Company"] == "'=HYPERLINK(1)"
    assert rows[4]["Description"] == "'@SUM(A1)"


def test_a_formula_in_the_input_header_comes_back_neutralised(loaded_policy, tmp_path):
    hostile_header = LEADS.replace(",Description\n", ',"=HYPERLINK(""http://evil.test"")"\n', 1)

    _run(tmp_path, leads=hostile_header)

    header = next(csv.reader((tmp_path / "decisions.csv").open()))
    assert '\'=HYPERLINK("http://evil.test")' in header
    assert not [name for name in header if name.startswith("=")]


def test_admin_simulation_download_neutralises_hostile_lead_text(client, loaded_policy):
    roles_sync()
    user = User.objects.create_user("olga", password="pw-12345-long", is_staff=True)
    user.groups.add(Group.objects.get(name=OPS))
    client.force_login(user)
    hostile = {
        "Company": ' =HYPERLINK("http://evil.test")<script>alert(1)</script>',
        "NumberOfEmployees": 5000,
        "Country": "\t+cmd|' /C calc'!A0",
        "Industry": "@SUM(A1)",
        "LeadSource": "\u200b-2+3",
    }
    ChangeEvent.objects.create(
        entity="Lead",
        change_type="CREATE",
        record_id="00Q5f000002aaaaAAA",
        fields=hostile,
        commit_timestamp=timezone.now() - dt.timedelta(days=1),
    )
    draft = policy_draft_create(source=loaded_policy)

    response = client.get(
        reverse("admin:routing_policy_simulate", args=[draft.pk]),
        {
            "days": 3,
            "format": "csv",
        },
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    row = next(csv.DictReader(StringIO(response.content.decode())))
    for field in ("Company", "Country", "Industry", "LeadSource"):
        assert row[field] == "'" + hostile[field], field
    assert row["segment"] == "ENT"


def test_compare_to_prints_owner_and_segment_changes_and_load(loaded_policy, tmp_path):
    draft = policy_draft_create(source=loaded_policy)
    SegmentRule.objects.filter(policy=draft, code="ENT").update(min_employees=2000)
    SegmentRule.objects.filter(policy=draft, code="MM").update(max_employees=1999)
    policy_publish(policy=draft)

    _, out = _run(tmp_path, "--policy-version", "2", "--compare-to", "1")

    assert "5 leads: owner changes for 1, segment for 1, region for 0 (v1 → v2)." in out
    assert "  00Q5f000001aaaaAAA: segment ENT → MM, owner " in out
    assert "Load per owner (v1 → v2):" in out


def test_unknown_version_is_a_clear_error(loaded_policy, tmp_path):
    with pytest.raises(CommandError, match="no published routing policy version 7"):
        _run(tmp_path, "--policy-version", "7")
