"""End to end: leads created in an emulated org → `manage.py listen` → N `manage.py qcluster` →
OwnerId written back, with 100 ms of API latency on every Salesforce call.

For each cluster count (a fresh org and database each time) it creates leads owned by the intake
queue through the emulator's control API, as a human would, either as a burst (``--leads`` in
batches of ``--batch``, as fast as possible) or steadily (``--rate`` leads/s for ``--seconds``,
after ``--warmup`` seconds of leads at that rate that are routed but not measured), waits until
every lead has an owner written or ``--timeout`` passes, then prints:

- leads/s sustained (leads routed / first lead created → last owner written),
- p50/p95/p99 event→owner latency (the lead's CreatedDate → its OwnerId change, both from the
  emulator's field history),
- Salesforce API calls per lead (the integration user's calls, from the emulator's stats),
- errors (failed owner writes, failed tasks, dead letters) and leads left unrouted,
- with several cluster counts, throughput relative to the first.

    .venv/bin/python bench/end_to_end.py --mode burst --db sqlite --clusters 1 --leads 2000
    .venv/bin/python bench/end_to_end.py --mode steady --db postgres --clusters 1,2,4 --rate 10
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sqlite3
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from _harness import (
    REDIS,
    AppProcess,
    app_env,
    app_process,
    group_cpu_seconds,
    manage,
    percentile,
    scratch_database,
    wait_for,
)

from sf_emulator.testing import EmulatorProcess, running_emulator

INTAKE_QUEUE = "00G5f0000000007EAA"  # "Lead Triage" in config/org_seed.json
INTEGRATION_USER = "0055f000000001cAAA"
COUNTRIES = ["USA", "Germany", "UK", "France", "Japan", "Brasil", "India", "Canada", "UAE"]
REPS_ALWAYS_ON = (
    "import datetime as dt; from routing.models import Rep; "
    "Rep.objects.update(work_start=dt.time(0), work_end=dt.time(23, 59, 59), "
    "work_days=list(range(7)), out_of_office=False)"
)


@dataclass
class Figures:
    clusters: int
    created: int = 0
    routed: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    api_calls: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def leads_per_second(self) -> float:
        return self.routed / self.seconds if self.seconds else 0.0


def lead_fields(n: int) -> dict:
    return {
        "LastName": f"Bench {n}",
        "Company": f"Company {n}",
        "NumberOfEmployees": (n * 37) % 3000 + 1,
        "Country": COUNTRIES[n % len(COUNTRIES)],
        "LeadSource": "Web",
        "OwnerId": INTAKE_QUEUE,
    }


def create_burst(emulator: EmulatorProcess, leads: int, batch: int) -> list[str]:
    ids: list[str] = []
    for start in range(0, leads, batch):
        body = [lead_fields(n) for n in range(start, min(leads, start + batch))]
        ids += emulator.control("POST", "/__emulator__/records/Lead", json=body).json()["ids"]
    return ids


def create_steady(emulator: EmulatorProcess, rate: float, seconds: float) -> list[str]:
    """One lead every 1/rate seconds, on schedule (late creations do not shift the next ones)."""
    ids: list[str] = []
    started = time.monotonic()
    for n in range(int(rate * seconds)):
        delay = started + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        reply = emulator.control("POST", "/__emulator__/records/Lead", json=lead_fields(n))
        ids.append(reply.json()["id"])
    return ids


class AppDatabase:
    """Reads the app's ledger straight from its database (SQLite file or PostgreSQL)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def scalar(self, sql: str) -> int:
        if self.url.startswith("sqlite:///"):
            with sqlite3.connect(self.url.removeprefix("sqlite:///"), timeout=20) as db:
                return int(db.execute(sql).fetchone()[0])
        import psycopg

        with psycopg.connect(self.url.replace("postgres://", "postgresql://")) as db:
            return int(db.execute(sql).fetchone()[0])

    def written(self) -> int:
        return self.scalar("SELECT count(*) FROM routing_assignment WHERE status = 'written'")

    def errors(self) -> dict[str, int]:
        return {
            "failed owner writes": self.scalar(
                "SELECT count(*) FROM routing_assignment WHERE status = 'failed'"
            ),
            "failed tasks": self.scalar("SELECT count(*) FROM django_q_task WHERE NOT success"),
            "dead letters": self.scalar("SELECT count(*) FROM salesforce_deadletter"),
        }


def parse_stamp(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("+0000", "+00:00"))


def owner_latency(
    emulator: EmulatorProcess, lead_id: str, dump: list[str] | None = None
) -> float | None:
    """Seconds from the lead's creation to the first OwnerId change (None: never routed)."""
    history = emulator.control("GET", f"/__emulator__/history/Lead/{lead_id}").json()
    created = next((h for h in history if h["field"] == "created"), None)
    owner = next((h for h in history if h["field"] == "OwnerId"), None)
    if created is None or owner is None:
        return None
    seconds = (parse_stamp(owner["timestamp"]) - parse_stamp(created["timestamp"])).total_seconds()
    if dump is not None:
        dump.append(f"{lead_id},{created['timestamp']},{seconds:.3f}")
    return seconds


def integration_calls(emulator: EmulatorProcess) -> int:
    return emulator.control("GET", "/__emulator__/stats").json()["by_user"].get(INTEGRATION_USER, 0)


def start_app(
    stack: ExitStack, env: dict[str, str], clusters: int, *, timeout: float = 60
) -> list[AppProcess]:
    listener = stack.enter_context(app_process("listen", ["listen"], env))
    processes = [listener]
    for n in range(clusters):
        processes.append(stack.enter_context(app_process(f"qcluster{n}", ["qcluster"], env)))
    wait_for(
        lambda: "subscribed to" in listener.output(),
        timeout=timeout,
        message=f"the listener to subscribe:\n{listener.output()[-2000:]}",
    )
    for process in processes[1:]:
        wait_for(
            lambda p=process: "running" in p.output().lower(),
            timeout=timeout,
            message=f"{process.name} to start:\n{process.output()[-2000:]}",
        )
    return processes


def warm_up(emulator: EmulatorProcess, database: AppDatabase, options: argparse.Namespace) -> int:
    """Steady mode: ``--warmup`` seconds of leads at the same rate, routed before the measured
    run starts (each new worker's first batch pays for its first login, policy compile and
    holiday tables). Returns how many leads that was."""
    if options.mode != "steady" or options.warmup <= 0:
        return 0
    count = len(create_steady(emulator, options.rate, options.warmup))
    wait_for(
        lambda: database.written() >= count, timeout=options.timeout, message="the warm-up leads"
    )
    return count


def run_once(options: argparse.Namespace, clusters: int, scratch: Path) -> Figures:
    figures = Figures(clusters=clusters)
    name = f"flywheel_bench_{os.getpid()}_{clusters}"
    state = scratch / f"org{clusters}"
    with ExitStack() as stack:
        emulator = stack.enter_context(running_emulator(state, api_latency_ms=options.latency_ms))
        url = stack.enter_context(scratch_database(options.db, directory=scratch, name=name))
        extra = {
            "Q_CLUSTER_NAME": name,
            "Q_WORKERS": str(options.workers),
            "ANTHROPIC_BASE_URL": emulator.url,
        }
        if options.db == "postgres":
            extra["REDIS_URL"] = f"{REDIS}/{options.redis_db}"
        env = app_env(emulator.connection_env, database_url=url, **extra)
        manage(env, "migrate", "-v", "0", "--skip-checks")
        manage(env, "load_config", "-v", "0", "--skip-checks")
        manage(env, "shell", "-c", REPS_ALWAYS_ON)
        processes = start_app(stack, env, clusters)
        database = AppDatabase(url)
        warm = warm_up(emulator, database, options)
        calls_before = integration_calls(emulator)
        cpu_before = {p.name: group_cpu_seconds(p.process.pid) for p in processes}
        started = time.monotonic()
        if options.mode == "burst":
            ids = create_burst(emulator, options.leads, options.batch)
        else:
            ids = create_steady(emulator, options.rate, options.seconds)
        figures.created = len(ids)
        deadline = time.monotonic() + options.timeout
        while database.written() < warm + len(ids) and time.monotonic() < deadline:
            time.sleep(0.2)
        figures.api_calls = integration_calls(emulator) - calls_before
        figures.cpu = {
            "listen": group_cpu_seconds(processes[0].process.pid) - cpu_before["listen"],
            "qcluster": sum(
                group_cpu_seconds(p.process.pid) - cpu_before[p.name] for p in processes[1:]
            ),
        }
        figures.errors = database.errors()
        crashed = [p.name for p in processes if p.process.poll() is not None]
        if crashed:
            figures.errors["processes exited"] = len(crashed)
        dump: list[str] | None = [] if options.dump else None
        with ThreadPoolExecutor(8) as pool:
            latencies = list(pool.map(lambda i: owner_latency(emulator, i, dump), ids))
        if dump is not None:
            path = Path(f"{options.dump}.{options.db}{clusters}.csv")
            path.write_text("lead_id,created,seconds\n" + "\n".join(sorted(dump, key=_created)))
        figures.latencies = [value for value in latencies if value is not None]
        figures.routed = len(figures.latencies)
        figures.seconds = _span(started, figures.latencies, ids, emulator)
        if options.verbose:
            print(emulator.control("GET", "/__emulator__/stats").json())
            for process in processes:
                print(f"--- {process.name} log tail ---\n{process.output()[-6000:]}")
    return figures


def _created(line: str) -> str:
    return line.split(",")[1]


def _span(started: float, latencies: list[float], ids: list[str], em: EmulatorProcess) -> float:
    """First lead created → last owner written, from the emulator's clock."""
    if not latencies:
        return time.monotonic() - started
    first = em.control("GET", f"/__emulator__/history/Lead/{ids[0]}").json()[0]["timestamp"]
    last_owner = max(
        parse_stamp(h["timestamp"])
        for lead_id in ids[-50:]
        for h in em.control("GET", f"/__emulator__/history/Lead/{lead_id}").json()
        if h["field"] == "OwnerId"
    )
    return (last_owner - parse_stamp(first)).total_seconds()


def report(options: argparse.Namespace, figures: Figures, baseline: Figures | None) -> None:
    lat = figures.latencies
    per_lead = figures.api_calls / figures.routed if figures.routed else 0.0
    label = f"{options.mode} {options.db} clusters={figures.clusters}"
    print(
        f"{label}: leads created {figures.created}, routed {figures.routed}, "
        f"unrouted {figures.created - figures.routed}"
    )
    print(
        f"{label}: throughput {figures.leads_per_second:.1f} leads/s over {figures.seconds:.1f} s"
    )
    print(
        f"{label}: event→owner p50 {percentile(lat, 0.5) * 1000:.0f} ms, "
        f"p95 {percentile(lat, 0.95) * 1000:.0f} ms, p99 {percentile(lat, 0.99) * 1000:.0f} ms, "
        f"max {max(lat, default=0) * 1000:.0f} ms"
    )
    print(f"{label}: API calls {figures.api_calls} = {per_lead:.4f} per lead")
    print(f"{label}: errors {figures.errors}")
    leads = max(figures.routed, 1)
    print(
        f"{label}: app CPU per lead: listen {figures.cpu['listen'] / leads * 1000:.1f} ms, "
        f"qcluster {figures.cpu['qcluster'] / leads * 1000:.1f} ms "
        f"(all three workloads: routing, TTFR, template suggestion)"
    )
    if baseline is not None and baseline.leads_per_second:
        ratio = figures.leads_per_second / baseline.leads_per_second
        print(f"{label}: throughput x{ratio:.2f} vs clusters={baseline.clusters}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["burst", "steady"], default="burst")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--clusters", default="1", help="comma-separated cluster counts")
    parser.add_argument("--workers", type=int, default=4, help="workers per qcluster")
    parser.add_argument("--leads", type=int, default=2000, help="burst size")
    parser.add_argument("--batch", type=int, default=100, help="leads per control API call")
    parser.add_argument("--rate", type=float, default=10.0, help="steady leads/s")
    parser.add_argument("--seconds", type=float, default=60.0, help="steady duration")
    parser.add_argument("--latency-ms", type=int, default=100, help="emulated API latency")
    parser.add_argument("--timeout", type=float, default=300.0, help="wait for the last owner")
    parser.add_argument(
        "--warmup", type=float, default=5.0, help="steady: seconds of leads routed before measuring"
    )
    parser.add_argument("--redis-db", type=int, default=11)
    parser.add_argument("--verbose", action="store_true", help="print process log tails")
    parser.add_argument(
        "--dump", help="write each lead's creation time and latency to DUMP.<db><clusters>.csv"
    )
    options = parser.parse_args()
    counts = [int(n) for n in options.clusters.split(",")]
    baseline = None
    with tempfile.TemporaryDirectory() as scratch:
        for clusters in counts:
            figures = run_once(options, clusters, Path(scratch))
            report(options, figures, baseline)
            baseline = baseline or figures


if __name__ == "__main__":
    main()
