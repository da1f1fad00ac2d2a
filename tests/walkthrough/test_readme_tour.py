"""The README's tour, walked against a real `manage.py demo`: a fresh state directory and SQLite file,
free ports, the tour's pages over HTTP as the roles it names, its shell snippets as written, then
Ctrl-C, then a rerun on the same state. Prints how long the dashboards take to fill."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.walkthrough.demo import (
    ROOT,
    DemoProcess,
    chart_has_data,
    free_port,
    signed_in,
    tour_section,
)

pytestmark = pytest.mark.integration

PASSWORD = "flywheel-demo"
FILLED_WITHIN_SECONDS = 120  # the promise: a fresh `make demo` fills within 2 minutes
STOPPED_WITHIN_SECONDS = 30
PAGES = ("overview", "routing", "ttfr", "templates", "flywheel")


@pytest.fixture
def timings() -> Iterator[dict[str, float]]:
    """Named durations, printed at the end whether the walk passed or not."""
    measured: dict[str, float] = {}
    yield measured
    _print_timings(measured)


def test_readme_tour_on_a_fresh_demo_then_ctrl_c_then_a_rerun_reuses_the_state(tmp_path, timings):
    # given a fresh `manage.py demo` (its own SQLite file, state directory and ports)
    database_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    state_dir = tmp_path / "state"
    port, emulator_port = free_port(), free_port()
    demo = DemoProcess(
        state_dir=state_dir,
        database_url=database_url,
        port=port,
        emulator_port=emulator_port,
        traffic=120,
        history_days=1,
        log=tmp_path / "demo-1.log",
    )
    try:
        base = demo.wait_for_url(timeout=90)
        timings["start → URL printed"] = demo.elapsed()

        # when the manager watches the dashboards fill
        manager = signed_in(base, "manager", PASSWORD)
        timings.update(_wait_until_filled(manager, base, demo))

        # then the tour works as the README tells it
        ops = signed_in(base, "ops", PASSWORD)
        _tour_admin(ops, base)
        active_pk = _tour_routing_policy(ops, base)
        _tour_simulate(ops, base, active_pk)
        timings["start → steps 1-3 (admin, policy, simulate)"] = demo.elapsed()
        timings["start → every dashboard page has data"] = _tour_dashboards(manager, base, demo)
        _tour_review_queue(signed_in(base, "labeler", PASSWORD), base)
        _tour_exports(manager, base)
        timings["start → steps 4-6 over HTTP"] = demo.elapsed()
        _tour_shell_snippets(tmp_path / "shell", state_dir, database_url)
        timings["start → README shell snippets run"] = demo.elapsed()

        # and Ctrl-C stops every process the demo started
        leads_before_stop = _stop_traffic_and_count_leads(demo)
        _ctrl_c(demo, timings, "first run")
    finally:
        demo.kill()

    # when the demo runs again on the same state (no traffic, so the org's lead count stays put)
    rerun = DemoProcess(
        state_dir=state_dir,
        database_url=database_url,
        port=free_port(),
        emulator_port=emulator_port,
        traffic=0,
        history_days=1,
        log=tmp_path / "demo-2.log",
    )
    try:
        rerun_base = rerun.wait_for_url(timeout=60)
        timings["rerun: start → URL printed"] = rerun.elapsed()

        # then it reuses the org and the database: no second history, no second backfill
        assert "First run" not in rerun.output() and "backfill |" not in rerun.output()
        assert rerun.emulator_stats()["records"]["Lead"] == leads_before_stop
        manager = signed_in(rerun_base, "manager", PASSWORD)
        assert _kpi(manager, rerun_base, "routing", "Leads routed") > 0
        _ctrl_c(rerun, timings, "rerun")
    finally:
        rerun.kill()


def _print_timings(timings: dict[str, float]) -> None:
    print("\nREADME tour timings (seconds):")
    for name, seconds in timings.items():
        print(f"  {name:<46} {seconds:6.1f}")


def _wait_until_filled(session: requests.Session, base: str, demo: DemoProcess) -> dict[str, float]:
    """Seconds from the demo's start until routed leads show, and the TTFR histogram and trend."""
    routed, ttfr_charts = "start → routed leads visible", "start → TTFR charts non-empty"
    seen: dict[str, float] = {}
    while demo.elapsed() < FILLED_WITHIN_SECONDS and len(seen) < 2:
        demo.assert_running()
        if routed not in seen and _page_json(session, base, "routing")["kpis"]["Leads routed"]:
            seen[routed] = demo.elapsed()
        charts = _page_json(session, base, "ttfr")["charts"]
        if ttfr_charts not in seen and all(
            chart_has_data(charts[name]) for name in ("histogram", "trend")
        ):
            seen[ttfr_charts] = demo.elapsed()
        time.sleep(0.5)
    assert set(seen) == {routed, ttfr_charts}, (
        f"not filled within {FILLED_WITHIN_SECONDS}s of the start: {seen}\n{demo.output()[-3000:]}"
    )
    return seen


def _tour_admin(ops: requests.Session, base: str) -> None:
    """1. Admin: ops sign in and see the routing policy and the email templates."""
    index = ops.get(f"{base}/admin/")
    assert index.status_code == 200
    assert ">Routing policies</a>" in index.text
    assert "/admin/templates_app/emailtemplate/" in index.text
    assert (
        "/admin/routing/regioncountry/" in index.text and "/admin/routing/ownerpool/" in index.text
    )


def _tour_routing_policy(ops: requests.Session, base: str) -> int:
    """2. Routing policy: copy the published version into a draft, publish the draft."""
    changelist = f"{base}/admin/routing/routingpolicy/"
    active = ops.get(f"{changelist}?is_active__exact=1")
    assert active.status_code == 200
    (active_pk,) = set(re.findall(r"/admin/routing/routingpolicy/(\d+)/change/", active.text))
    assert "Copy into a new draft to edit" in active.text
    assert "Publish the selected draft" in active.text
    assert "Roll back to the selected published version" in active.text

    copied = _admin_action(ops, changelist, "copy_to_draft", active_pk)
    assert copied.status_code == 302
    draft_pk = re.search(r"/routingpolicy/(\d+)/change/", copied.headers["Location"]).group(1)
    assert draft_pk != active_pk
    draft = ops.get(f"{changelist}{draft_pk}/change/")
    assert draft.status_code == 200 and 'name="_save"' in draft.text  # drafts are editable
    assert draft.text.count("-TOTAL_FORMS") >= 3  # segments, override rules, aliases inline

    published = _admin_action(ops, changelist, "publish", draft_pk)
    assert published.status_code == 302
    listing = ops.get(f"{changelist}?is_active__exact=1")
    assert 'class="success">Published ' in listing.text, listing.text[-2000:]
    assert set(re.findall(r"/admin/routing/routingpolicy/(\d+)/change/", listing.text)) == {
        draft_pk
    }
    return int(draft_pk)


def _tour_simulate(ops: requests.Session, base: str, policy_pk: int) -> None:
    """3. Simulate: the link on the policy, the routed leads, the CSV one click away."""
    change = ops.get(f"{base}/admin/routing/routingpolicy/{policy_pk}/change/")
    assert change.status_code == 200
    link = re.search(r'href="([^"]*/simulate/\?days=7)"', change.text).group(1)
    page = ops.get(base + link)
    assert page.status_code == 200
    routed = int(re.search(r"(\d+) leads routed with", page.text).group(1))
    assert routed > 0
    assert "Compared with the active policy" in page.text
    csv_link = re.search(r'href="([^"]*format=csv)"', page.text).group(1).replace("&amp;", "&")
    exported = ops.get(base + csv_link)
    assert exported.status_code == 200
    assert exported.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) >= routed and rows[0]["Id"]  # leads keep arriving
    more = ops.get(base + link.replace("days=7", "days=30"))
    assert more.status_code == 200 and "last 30 days of leads" in more.text


def _tour_dashboards(manager: requests.Session, base: str, demo: DemoProcess) -> float:
    """4. Dashboard: every page answers with charts that have data (the templates page fills
    once the first suggestions are decided); no listener banner. Returns when all had data."""
    _assert_ok(manager.get(f"{base}/dashboard/"))
    empty = set(PAGES)
    deadline = demo.started + FILLED_WITHIN_SECONDS
    while empty and time.monotonic() < deadline:
        for page in sorted(empty):
            board = _page_json(manager, base, page)
            if any(chart_has_data(traces) for traces in board["charts"].values()):
                empty.discard(page)
        time.sleep(0.5)
    assert not empty, f"no chart with data within {FILLED_WITHIN_SECONDS}s of the start: {empty}"
    filled_at = demo.elapsed()
    for page in PAGES:
        shown = _assert_ok(manager.get(f"{base}/dashboard/{page}/")).text
        assert 'class="banner"' not in shown, page  # the listener runs and streams
        assert 'class="chart"' in shown, page
    routing = _page_json(manager, base, "routing")["charts"]
    assert all(chart_has_data(routing[name]) for name in ("per_day", "by_segment", "by_owner"))
    ttfr = _page_json(manager, base, "ttfr")
    assert ttfr["kpis"]["Responded"] > 0 and ttfr["kpis"]["Median (min)"] is not None
    assert chart_has_data(ttfr["charts"]["histogram"]) and chart_has_data(ttfr["charts"]["trend"])
    filtered = manager.get(f"{base}/dashboard/ttfr/", params={"segment": "SMB"})
    assert filtered.status_code == 200 and "<option selected>SMB</option>" in filtered.text
    return filled_at


def _tour_review_queue(labeler: requests.Session, base: str) -> None:
    """5. Review queue: review next unlabeled, accept it, land on the next one."""
    index = labeler.get(f"{base}/admin/")
    assert ">Flywheel</a>" in index.text and ">Decisions</a>" in index.text
    decisions = labeler.get(f"{base}/admin/flywheel/decision/")
    assert decisions.status_code == 200 and "Review next unlabeled" in decisions.text
    review = labeler.get(f"{base}/admin/flywheel/decision/next/")
    assert review.status_code == 200
    decision_pk = re.search(r"/decision/(\d+)/review/", review.url).group(1)
    accepted = labeler.post(
        review.url,
        data={"csrfmiddlewaretoken": _form_token(review.text), "action": "accept", "note": ""},
    )
    assert accepted.status_code == 200
    assert f"Decision #{decision_pk} accepted." in accepted.text
    assert f"/decision/{decision_pk}/review/" not in accepted.url  # on to the next one


def _tour_exports(manager: requests.Session, base: str) -> None:
    """6. Export: a CSV per table and a JSON per page; the decisions' JSONL zip from the admin."""
    shown = _assert_ok(manager.get(f"{base}/dashboard/ttfr/")).text
    tables = re.findall(r"export=csv&amp;table=(\w+)", shown)
    assert "by_owner" in tables and "export=json" in shown
    for table in tables:
        exported = manager.get(f"{base}/dashboard/ttfr/", params={"export": "csv", "table": table})
        assert exported.status_code == 200, table
        assert exported.headers["Content-Type"].startswith("text/csv")
        assert "attachment" in exported.headers["Content-Disposition"]
    by_owner = manager.get(f"{base}/dashboard/ttfr/", params={"export": "csv", "table": "by_owner"})
    assert next(csv.reader(io.StringIO(by_owner.text)))[:2] == ["owner", "leads"]
    page = manager.get(f"{base}/dashboard/routing/", params={"export": "json"})
    assert page.status_code == 200 and page.json()["kpis"]["Leads routed"] > 0

    changelist = manager.get(f"{base}/admin/flywheel/decision/")
    assert "Download JSONL export" in changelist.text
    form = manager.get(f"{base}/admin/flywheel/decision/export/")
    assert form.status_code == 200
    bundle = manager.get(
        f"{base}/admin/flywheel/decision/export/",
        params={"format": "sft", "labeled_only": "on", "redact_pii": "on"},
    )
    assert bundle.status_code == 200
    assert bundle.headers["Content-Type"] == "application/zip", bundle.text[-1000:]
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
        names = archive.namelist()
        jsonl = [name for name in names if name.endswith(".jsonl")]
        assert "SUMMARY.txt" in names and jsonl
        first = json.loads(archive.read(jsonl[0]).splitlines()[0])
    assert first["messages"][-1]["role"] == "assistant"


def _tour_shell_snippets(workdir: Path, state_dir: Path, database_url: str) -> None:
    """The README's shell blocks and its `sf_check` line, run as written in a scratch directory
    laid out like the checkout (`.venv`, `manage.py`, `var/demo` → this demo's state)."""
    workdir.mkdir()
    (workdir / ".venv").symlink_to(ROOT / ".venv")
    (workdir / "manage.py").symlink_to(ROOT / "manage.py")
    (workdir / "var").mkdir()
    (workdir / "var" / "demo").symlink_to(state_dir)
    section = tour_section()
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)
    sf_check = re.search(r"`(set -a; [^`]+)`.*?`(DEBUG=true [^`]+sf_check)`", section, re.DOTALL)
    assert len(blocks) == 2 and sf_check, section
    scripts = [*blocks, f"{sf_check.group(1)}\n{sf_check.group(2)}"]
    env = DemoProcess.base_env(database_url)
    logs = [workdir / f"snippet-{n}.log" for n in range(len(scripts))]
    running = []
    for script, log in zip(scripts, logs, strict=True):  # side by side: independent blocks
        with log.open("w") as out:
            running.append(
                subprocess.Popen(
                    ["bash", "-c", f"set -euo pipefail\n{script}"],
                    cwd=workdir,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    codes = [process.wait(timeout=120) for process in running]
    outputs = [log.read_text(errors="replace") for log in logs]
    for script, code, output in zip(scripts, codes, outputs, strict=True):
        assert code == 0, f"{script}\n{output[-3000:]}"

    decisions = list(csv.DictReader((workdir / "decisions.csv").open(encoding="utf-8")))
    assert [row["Company"] for row in decisions] == ["Acme GmbH", "Globex"]
    assert all(row["segment"] and row["region"] and row["decided_by"] for row in decisions)
    exported = list((workdir / "var" / "export").rglob("*.jsonl"))
    assert exported, outputs[1]
    assert sum(len(path.read_text().splitlines()) for path in exported) >= 1
    report = workdir / "var" / "report"
    assert {f"{page}.json" for page in PAGES} <= {path.name for path in report.iterdir()}
    assert json.loads((report / "routing.json").read_text())["kpis"]["Leads routed"] > 0
    assert "integration user can change Lead owners" in outputs[2]


def _stop_traffic_and_count_leads(demo: DemoProcess) -> int:
    demo.emulator_control("POST", "/__emulator__/traffic", json={"stop": True})
    return demo.emulator_stats()["records"]["Lead"]


def _ctrl_c(demo: DemoProcess, timings: dict[str, float], name: str) -> None:
    children = demo.descendants()
    assert len(children) >= 5, children  # emulator, listen, cluster (and its workers), web
    started = time.monotonic()
    demo.interrupt()
    demo.wait_all_gone(children, timeout=STOPPED_WITHIN_SECONDS)
    timings[f"{name}: Ctrl-C → every child gone"] = time.monotonic() - started
    assert demo.process.returncode == 0, demo.output()[-3000:]
    assert demo.output().rstrip().endswith("all stopped")


def _page_json(session: requests.Session, base: str, page: str) -> dict:
    response = session.get(f"{base}/dashboard/{page}/", params={"export": "json"}, timeout=30)
    return _assert_ok(response).json()


def _assert_ok(response: requests.Response) -> requests.Response:
    """200, or the failure with the exception from Django's debug page (the demo runs DEBUG)."""
    if response.status_code != 200:
        found = re.search(r"<title>(.*?)</title>", response.text, re.DOTALL)
        value = re.search(r'<pre class="exception_value">(.*?)</pre>', response.text, re.DOTALL)
        raise AssertionError(
            f"{response.status_code} from {response.url}: "
            f"{' '.join(found.group(1).split()) if found else ''} "
            f"{html.unescape(value.group(1)) if value else ''}"
        )
    return response


def _kpi(session: requests.Session, base: str, page: str, label: str) -> object:
    return _page_json(session, base, page)["kpis"][label]


def _admin_action(
    session: requests.Session, changelist: str, action: str, pk: str
) -> requests.Response:
    page = session.get(changelist)
    return session.post(
        changelist,
        data={
            "csrfmiddlewaretoken": _form_token(page.text),
            "action": action,
            "_selected_action": pk,
            "index": "0",
        },
        allow_redirects=False,
    )


def _form_token(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
