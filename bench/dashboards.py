"""Dashboards at scale: every /dashboard/<page>/ and ``manage.py metrics 30`` over a million
leads on PostgreSQL.

Creates a scratch PostgreSQL database, migrates it, seeds ``--leads`` lead facts (ttfr.LeadFact,
what the TTFR and overview pages read) spread over ``--days`` days, the same number of routing
ledger rows (routing.Assignment, with their change events, what the routing page reads), all
with set-based INSERT ... SELECT FROM generate_series, then renders each page ``--repeat`` times
through Django's test client as a manager (default 30-day range) and runs the ``metrics 30``
command once. Prints wall ms (target: about 1-2 s a page), the app's CPU seconds and the
database backend's CPU seconds (from /proc: PostgreSQL runs on this host; parallel query is off
for the bench connection so that every database CPU second lands in that one backend). The
database is dropped at the end.

No page reads activities: TTFR reads a lead's tasks and emails from Salesforce when it records
the first response and keeps one LeadFact per lead, so there is no activity table to seed.

    .venv/bin/python bench/dashboards.py [--leads 1000000] [--days 90] [--repeat 3]
        [--pages overview,routing,ttfr,templates,flywheel] [--no-metrics] [--queries]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import time
from pathlib import Path

from _harness import manage, postgres_database

PAGES = ("overview", "routing", "ttfr", "templates", "flywheel")
TARGET_MS = 2000
TEAMS = ["NA", "EMEA", "APAC", "LATAM", "MEA"]
SEGMENTS = ["SMB", "MM", "ENT"]
REPS = [f"0055f00000000{n:02d}AAA" for n in range(1, 21)]


def _array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]"


def _fill(model: type, given: dict[str, str], rows: int) -> str:
    """INSERT ... SELECT over generate_series(1, rows) AS g: ``given`` column expressions, and a
    neutral value for every other NOT NULL column (Django sets defaults in Python, not SQL)."""
    from django.db import models

    columns = dict(given)
    for field in model._meta.concrete_fields:
        if field.primary_key or field.column in columns or field.null:
            continue
        if isinstance(field, models.BooleanField):
            columns[field.column] = "false"
        elif isinstance(field, models.JSONField):
            columns[field.column] = "'[]'::jsonb" if field.default is list else "'{}'::jsonb"
        elif isinstance(field, models.DateTimeField):
            columns[field.column] = "now()"
        elif isinstance(field, models.IntegerField | models.FloatField):
            columns[field.column] = "0"
        else:
            columns[field.column] = "''"
    names = ", ".join(columns)
    values = ", ".join(columns.values())
    return (
        f"INSERT INTO {model._meta.db_table} ({names}) "
        f"SELECT {values} FROM generate_series(1, {rows}) AS g"
    )


def seed(leads: int, days: int) -> None:
    from django.db import connection

    from routing.models import Assignment
    from salesforce.models import ChangeEvent
    from ttfr.models import LeadFact

    created = f"now() - (g % ({days} * 1440)) * interval '1 minute'"
    lead_id = "'00Q' || lpad(g::text, 15, '0')"
    team = f"({_array(TEAMS)})[1 + g % {len(TEAMS)}]"
    segment = f"({_array(SEGMENTS)})[1 + g % {len(SEGMENTS)}]"
    owner = f"({_array(REPS)})[1 + g % {len(REPS)}]"
    minutes = "round((random() * random() * 600)::numeric, 2)::float"
    responded = "g % 10 <> 0"
    facts = {
        "lead_id": lead_id,
        "created_at": created,
        "assigned_at": created,
        "lead_source": "(ARRAY['Web', 'Phone', 'Partner'])[1 + g % 3]",
        "owner_id": owner,
        "team": team,
        "segment": segment,
        "region": team,
        "responder_id": f"CASE WHEN {responded} THEN {owner} ELSE '' END",
        "ttfr_minutes": f"CASE WHEN {responded} THEN {minutes} END",
        "business_minutes": f"CASE WHEN {responded} THEN {minutes} END",
        "first_response_at": f"CASE WHEN {responded} THEN {created} + interval '30 minutes' END",
        "assignment_delay_minutes": "0.05",
        "human_delay_minutes": f"CASE WHEN {responded} THEN {minutes} END",
        "sla_minutes": "60",
        "sla_breached": "g % 7 = 0",
        "sla_breached_raw": "g % 5 = 0",
        "is_converted": "g % 11 = 0",
    }
    events = {
        "id": "g",
        "entity": "'Lead'",
        "change_type": "'CREATE'",
        "record_id": lead_id,
        "commit_timestamp": created,
        "received_at": created,
        "dispatched_at": created,
        "source": "'cdc'",
    }
    assignments = {
        "lead_id": lead_id,
        "event_id": "g",
        "segment": segment,
        "region": team,
        "pool": team,
        "owner_id": owner,
        "current_owner_id": owner,
        "status": "CASE WHEN g % 50 = 0 THEN 'overridden' ELSE 'written' END",
        "attempts": "1",
        "written_at": f"{created} + interval '400 milliseconds'",
        "event_committed_at": created,
        "created_at": created,
    }
    with connection.cursor() as cursor:
        for model, columns in ((LeadFact, facts), (ChangeEvent, events), (Assignment, assignments)):
            started = time.perf_counter()
            cursor.execute(_fill(model, columns, leads))
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")  # what autovacuum does
            took = time.perf_counter() - started
            print(f"seeded {leads:,} {model.__name__} rows in {took:.1f} s")
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('salesforce_changeevent', 'id'), %s)", [leads]
        )


def manager_client():
    from django.contrib.auth.models import Group, User
    from django.test import Client

    from flywheel_site.roles import MANAGERS

    user = User.objects.filter(username="bench-manager").first() or User.objects.create_user(
        "bench-manager", password="bench-only-password"
    )
    user.groups.add(Group.objects.get_or_create(name=MANAGERS)[0])
    client = Client()
    client.force_login(user)
    return client


class CpuClock:
    """Wall seconds, this process's CPU seconds and the database backend's CPU seconds."""

    def __init__(self) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SET max_parallel_workers_per_gather = 0")
            cursor.execute("SELECT pg_backend_pid()")
            self.stat = Path(f"/proc/{cursor.fetchone()[0]}/stat")

    def now(self) -> tuple[float, float, float]:
        fields = self.stat.read_text().rsplit(")", 1)[1].split()
        backend = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return time.perf_counter(), time.process_time(), backend

    def since(self, start: tuple[float, float, float]) -> tuple[float, float, float]:
        return tuple(end - begin for end, begin in zip(self.now(), start, strict=True))


def report(label: str, runs: list[tuple[float, float, float]], *, page: bool = True) -> None:
    wall = statistics.median(run[0] for run in runs)
    app = statistics.median(run[1] for run in runs)
    database = statistics.median(run[2] for run in runs)
    verdict = "within" if wall * 1000 <= TARGET_MS else "over"
    target = f" ({verdict} {TARGET_MS:,} ms)" if page else ""
    print(
        f"{label}: median {wall * 1000:,.0f} ms wall{target}, "
        f"CPU app {app:.2f} s + database {database:.2f} s, over {len(runs)} run(s), "
        f"load {os.getloadavg()[0]:.1f}"
    )


def time_pages(clock: CpuClock, repeat: int, pages: list[str]) -> None:
    client = manager_client()
    for page in pages:
        runs = []
        for _ in range(repeat):
            start = clock.now()
            response = client.get(f"/dashboard/{page}/", secure=True)
            runs.append(clock.since(start))
            if response.status_code != 200:
                raise SystemExit(f"/dashboard/{page}/ answered HTTP {response.status_code}")
        report(f"/dashboard/{page}/", runs)


def slowest_queries(pages: list[str], top: int = 6) -> None:
    """Render each page once more and print its slowest SQL statements (``--queries``)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = manager_client()
    for page in pages:
        with CaptureQueriesContext(connection) as captured:
            client.get(f"/dashboard/{page}/", secure=True)
        queries = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))
        total = sum(float(q["time"]) for q in queries)
        print(f"/dashboard/{page}/: {len(queries)} queries, {total:.2f} s; slowest:")
        for query in queries[:top]:
            print(f"  {float(query['time']):6.3f} s  {' '.join(query['sql'].split())[:150]}")


def time_metrics_command(clock: CpuClock) -> None:
    from django.core.management import call_command

    with tempfile.TemporaryDirectory() as outdir:
        start = clock.now()
        call_command("metrics", "30", outdir, stdout=io.StringIO())
        runs = [clock.since(start)]
        files = len(list(Path(outdir).iterdir()))
    report(f"manage.py metrics 30 OUTDIR ({files} files)", runs, page=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--pages", default=",".join(PAGES), help="comma-separated pages to render (default: all)"
    )
    parser.add_argument("--no-metrics", action="store_true", help="skip `manage.py metrics 30`")
    parser.add_argument(
        "--queries", action="store_true", help="also print each page's slowest SQL statements"
    )
    options = parser.parse_args()
    pages = [page for page in options.pages.split(",") if page]
    if unknown := set(pages) - set(PAGES):
        parser.error(f"unknown pages: {', '.join(sorted(unknown))} (known: {', '.join(PAGES)})")
    with postgres_database(f"flywheel_bench_dash_{os.getpid()}") as url:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "REDIS"))},
            "DATABASE_URL": url,
            "DEBUG": "false",
            "SECRET_KEY": "bench-only-secret-key",
            "ALLOWED_HOSTS": "testserver",
            "DJANGO_SETTINGS_MODULE": "flywheel_site.settings",
        }
        manage(env, "migrate", "-v", "0", "--skip-checks")
        os.environ.update(env)
        import django

        django.setup()
        from django.conf import settings

        settings.DATABASES["default"]["CONN_MAX_AGE"] = None  # one backend to read the CPU of
        seed(options.leads, options.days)
        clock = CpuClock()
        time_pages(clock, options.repeat, pages)
        if options.queries:
            slowest_queries(pages)
        if not options.no_metrics:
            time_metrics_command(clock)
        from django.db import connections

        connections.close_all()


if __name__ == "__main__":
    main()
