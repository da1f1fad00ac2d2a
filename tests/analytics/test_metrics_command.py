"""manage.py metrics DAYS OUTDIR: the dashboards as files, identical to what the pages export."""

import csv
import datetime as dt
import io
import json

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command

from flywheel_site.roles import MANAGERS
from tests.analytics.facts import smb_facts

pytestmark = pytest.mark.django_db
FORMULA = "=1+2"
PAGES = ("overview", "ttfr", "routing", "templates", "flywheel")


@pytest.fixture
def facts():
    smb_facts([("Web", 1), (FORMULA, 2), ("Web", 3), ("Old", 20)])


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("metrics", *args, stdout=out)
    return out.getvalue()


def test_writes_every_page_as_json_and_every_table_as_csv(facts, tmp_path):
    outdir = tmp_path / "report"

    printed = run("7", str(outdir))

    names = {path.name for path in outdir.iterdir()}
    assert {f"{page}.json" for page in PAGES} <= names
    assert {"ttfr-by_owner.csv", "ttfr-by_source.csv", "overview-api_calls.csv"} <= names
    assert not [name for name in names if name.endswith(".partial")]
    assert f"Wrote {len(names)} files" in printed


def test_only_the_last_days_are_counted(facts, tmp_path):
    run("7", str(tmp_path))

    ttfr = json.loads((tmp_path / "ttfr.json").read_text(encoding="utf-8"))
    assert ttfr["kpis"]["Leads"] == 3  # the lead of 20 days ago is outside the window
    today = dt.datetime.now(dt.UTC).date()
    assert ttfr["filters"]["start"] == str(today - dt.timedelta(days=6))
    assert ttfr["filters"]["end"] == str(today)


def test_json_file_is_exactly_the_dashboards_json_export(facts, tmp_path, client):
    run("7", str(tmp_path))
    written = json.loads((tmp_path / "ttfr.json").read_text(encoding="utf-8"))
    user = User.objects.create_user("m", password="pw-long-enough-1")
    user.groups.add(Group.objects.get(name=MANAGERS))
    client.force_login(user)

    shown = client.get(
        "/dashboard/ttfr/",
        {"start": written["filters"]["start"], "end": written["filters"]["end"], "export": "json"},
    ).json()

    assert written == shown


def test_csv_cells_are_neutralised_and_carry_a_header(facts, tmp_path):
    run("7", str(tmp_path))

    text = (tmp_path / "ttfr-by_source.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "lead source",
        "leads",
        "responded",
        "median min",
        "P95 min",
        "SLA breach rate",
    ]
    sources = [row[0] for row in rows[1:]]
    assert "'" + FORMULA in sources and FORMULA not in sources


def test_an_empty_database_still_writes_the_report(tmp_path):
    run("30", str(tmp_path))

    assert json.loads((tmp_path / "ttfr.json").read_text())["kpis"]["Leads"] == 0


@pytest.mark.parametrize("days", ["0", "-3", "seven", "2.5", "367"])
def test_bad_days_is_refused_with_the_allowed_range(days, tmp_path):
    with pytest.raises(CommandError, match="DAYS must be a whole number from 1 to 366"):
        run(days, str(tmp_path))


def test_an_outdir_that_cannot_be_created_is_refused(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")

    with pytest.raises(CommandError, match="Cannot write the report to"):
        run("7", str(blocker / "report"))
