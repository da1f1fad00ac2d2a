"""A manager's browser session: sign in, see the TTFR charts drawn, filter, download a CSV.

Playwright drives Debian's chromium (`apt-get install chromium`, which .ci/run does). Set
UPDATE_SCREENSHOT=1 to refresh docs/img/dashboard.png, the README's screenshot.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import random
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from playwright.sync_api import Browser, Page, expect, sync_playwright

from flywheel_site.roles import MANAGERS
from salesforce import lease
from ttfr.models import LeadFact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path(settings.BASE_DIR) / "docs" / "img" / "dashboard.png"
MAX_SCREENSHOT_BYTES = 300_000
PASSWORD = "browser-test-password-1"
OWNERS = [f"00558000000{n:04d}AAA" for n in range(1, 7)]


@pytest.fixture
def seeded_facts() -> int:
    """Two weeks of leads: response times skewed like a real team's, some never answered.
    Returns how many are Enterprise (counted here: an ORM query made while Playwright's event
    loop runs gets a connection of its own that nothing closes, and PostgreSQL then cannot drop
    the test database)."""
    rng = random.Random(7)
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    facts = []
    for n in range(240):
        minutes = None if rng.random() < 0.08 else round(rng.lognormvariate(3.0, 1.0), 2)
        segment = rng.choice(["SMB", "SMB", "MM", "ENT"])
        facts.append(
            LeadFact(
                lead_id=f"00Q58000{n:07d}AAA",
                created_at=now - dt.timedelta(hours=rng.randint(1, 14 * 24)),
                owner_id=rng.choice(OWNERS),
                team=rng.choice(["NA", "EMEA", "APAC"]),
                segment=segment,
                region=rng.choice(["NA", "EMEA", "APAC", "LATAM"]),
                lead_source=rng.choice(["Web", "Partner", "Event"]),
                ttfr_minutes=minutes,
                business_minutes=minutes,
                assignment_delay_minutes=round(rng.uniform(0.01, 0.2), 3),
                human_delay_minutes=None if minutes is None else round(minutes * 0.97, 2),
                sla_breached=minutes is None or minutes > 60,
                sla_breached_raw=minutes is None or minutes > 60,
                is_converted=minutes is not None and rng.random() < 12 / (12 + minutes),
            )
        )
    LeadFact.objects.bulk_create(facts)
    return sum(fact.segment == "ENT" for fact in facts)


@pytest.fixture
def listener_running() -> None:
    """A live listener heartbeat, so the page shows no 'listener down' banner."""
    lease.lease_acquire(holder="browser-test", seconds=600)
    lease.heartbeat_record(holder="browser-test", mode="streaming")


@pytest.fixture
def manager() -> User:
    user = User.objects.create_user("manager", password=PASSWORD)
    user.groups.add(Group.objects.get(name=MANAGERS))
    return user


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch, settings) -> Browser:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Debian's chromium is not installed at {CHROMIUM}; the browser tests need it. "
            "Install it with `apt-get install -y chromium` (.ci/run does this)."
        )
    # The live server speaks plain HTTP: secure-only cookies would never come back.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test's
    # teardown happen after it has stopped, but Django only sees that a loop exists.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield browser
        browser.close()


def sign_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/dashboard/ttfr/")
    expect(page).to_have_url(f"{base_url}/accounts/login/?next=/dashboard/ttfr/")
    page.fill("input[name=username]", "manager")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base_url}/dashboard/ttfr/")


def charts_drawn(page: Page) -> None:
    page.wait_for_load_state("load", timeout=30_000)  # plotly.min.js is 4.6 MB
    charts = page.locator("div.chart[data-figure]")
    expect(charts).to_have_count(4)
    for index in range(4):
        expect(charts.nth(index).locator(".plot-container svg.main-svg").first).to_be_visible()
    assert page.evaluate(
        "() => [...document.querySelectorAll('div.chart')].every(d => d.data && d.data.length)"
    )


def kpi(page: Page, label: str) -> str:
    return (
        page.locator(".kpi", has=page.locator(".label", has_text=label))
        .locator(".value")
        .inner_text()
    )


def test_manager_sees_ttfr_charts_filters_and_downloads_csv(
    live_server, seeded_facts, listener_running, manager, browser, tmp_path
):
    page = browser.new_page(viewport={"width": 1280, "height": 1180}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    sign_in(page, live_server.url)
    charts_drawn(page)
    assert kpi(page, "Leads") == "240"
    expect(page.locator(".banner")).to_have_count(0)
    screenshot = SCREENSHOT if os.environ.get("UPDATE_SCREENSHOT") else tmp_path / "shot.png"
    page.screenshot(path=str(screenshot))
    assert 10_000 < screenshot.stat().st_size < MAX_SCREENSHOT_BYTES

    page.select_option("select[name=segment]", "ENT")
    page.click("#filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"/dashboard/ttfr/\?.*segment=ENT"))
    expect(page.locator("select[name=segment]")).to_have_value("ENT")
    enterprise = seeded_facts
    assert kpi(page, "Leads") == str(enterprise)
    charts_drawn(page)

    with page.expect_download() as download_info:
        page.locator("a.export[href*='table=by_owner']").click()
    download = download_info.value
    assert download.suggested_filename == "ttfr-by_owner.csv"
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert rows[0][0] == "owner"
    assert sum(int(row[1]) for row in rows[1:]) == enterprise
    assert errors == []


def test_every_dashboard_draws_its_charts(live_server, seeded_facts, manager, browser):
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_server.url)

    for path in ("", "routing/", "templates/", "flywheel/"):
        page.goto(f"{live_server.url}/dashboard/{path}")
        page.wait_for_load_state("load", timeout=30_000)
        charts = page.locator("div.chart[data-figure]")
        assert charts.count() > 0, path
        for index in range(charts.count()):
            expect(charts.nth(index).locator(".plot-container svg.main-svg").first).to_be_visible()
    assert errors == []
