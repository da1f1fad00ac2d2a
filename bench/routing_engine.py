"""Routing throughput with the LLM off: lead CREATE events → routing.tasks.route_leads → one
owner write per 200 leads, against a throwaway SQLite database and an in-process Salesforce
double (no network), so the figure is the app's own cost per lead.

    .venv/bin/python bench/routing_engine.py [--leads 5000] [--batch 500] [--ambiguous 0.03]
    .venv/bin/python bench/routing_engine.py --emulator [--leads 1000]
    .venv/bin/python bench/routing_engine.py --profile   # cProfile of route_leads, top 30
    .venv/bin/python bench/routing_engine.py --phases    # µs per lead in each step, no profiler

Prints leads/s end to end (inbox read, rules, Decision rows, ledger, owner writes), batch
latency p50/p95 and Salesforce calls per lead. Target: ≥ 1,000 leads/s. With ``--emulator`` the
leads are created in a freshly started emulated org and the owners written over HTTPS through
the real client (the LLM stays off), and the org's own API counters are reported.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _harness import host_speed_seconds

ROOT = Path(__file__).resolve().parents[1]
COUNTRIES = [
    "USA",
    "U.S.",
    "Germany",
    "Deutschland",
    "UK",
    "France",
    "Japan",
    "Brasil",
    "Mexico",
    "India",
    "Australia",
    "UAE",
    "South Africa",
    "Canada",
    "Korea, Republic of",
]
TRIAGE = "00G5f0000000007EAA"
INDUSTRIES = ["Retail", "Technology", "Banking", "Manufacturing", "Healthcare", "Education"]


@dataclass
class _Result:
    id: str
    success: bool
    errors: list


class _CountingClient:
    def __init__(self) -> None:
        self.calls = 0

    def update_records(self, sobject: str, records: list[dict]) -> list[_Result]:
        self.calls += 1
        return [_Result(r["Id"], True, []) for r in records]


# The steps of the hot path (module, function, nesting depth), timed by ``--phases``.
PHASES = [
    ("routing.services.assign", "_route_new", 0),
    ("routing.services.assign", "classify", 1),
    ("routing.services.assign", "route_classified", 1),
    ("routing.services.assign", "_commit", 1),
    ("routing.services.assign", "decisions_record", 2),
    ("flywheel.gateway", "_decision_build", 3),
    ("flywheel.gateway", "secrets_may_be_in", 4),
    ("flywheel.gateway", "schema_errors", 4),
    ("flywheel.gateway", "rows_insert", 3),
    ("routing.services.assign", "rows_insert", 2),
    ("routing.services.assign", "owners_write", 0),
    ("routing.services.writes", "_effects_record", 1),
    ("routing.services.writes", "_facts_record", 1),
]


def _phases_timed() -> dict[tuple[int, str], float]:
    """Wrap each step of ``PHASES`` with a timer (about 0.2 µs a call, against a profiler's
    several µs per function call everywhere) and return the seconds each step takes in all."""
    import functools
    import importlib

    totals: dict[tuple[int, str], float] = {}
    for module_name, name, depth in PHASES:
        module = importlib.import_module(module_name)
        key = (depth, f"{module_name.rsplit('.', 1)[-1]}.{name}")
        totals[key] = 0.0
        original = getattr(module, name)

        @functools.wraps(original)
        def timed(*args, __original=original, __key=key, **kwargs):
            start = time.perf_counter()
            try:
                return __original(*args, **kwargs)
            finally:
                totals[__key] += time.perf_counter() - start

        setattr(module, name, timed)
    return totals


def _setup(database: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flywheel_site.settings")
    # As deployed: with DEBUG on, Django keeps (and formats) every query for the debug log.
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_config", routing=ROOT / "config" / "routing_policy.json", verbosity=0)


def _emulated_org(tmp: Path) -> object:
    from django.conf import settings

    from sf_emulator.testing import running_emulator

    context = running_emulator(tmp / "org")
    org = context.__enter__()
    for name, value in org.connection_env.items():
        setattr(settings, name, value)
    return context, org


def _create_in_org(org: object, events: list) -> None:
    """Create the leads in the org (as the intake queue's) and point the events at their ids."""
    from salesforce.models import ChangeEvent

    for start in range(0, len(events), 200):
        chunk = events[start : start + 200]
        body = [
            {k: v for k, v in e.fields.items() if k != "OwnerId"} | {"OwnerId": TRIAGE}
            for e in chunk
        ]
        reply = org.control("POST", "/__emulator__/records/Lead", json=body).json()
        ids = reply["ids"]
        for event, lead_id in zip(chunk, ids, strict=True):
            event.record_id = lead_id
    ChangeEvent.objects.bulk_update(events, ["record_id"], batch_size=500)


def _events(count: int, ambiguous: float) -> list:
    import datetime as dt

    from django.utils import timezone

    from salesforce.models import ChangeEvent

    rng = random.Random(7)
    now = timezone.now()
    rows = []
    for n in range(count):
        employees = int(rng.paretovariate(1.1) * 20)
        fields = {
            "LastName": f"Lead {n}",
            "Company": f"Company {n}",
            "NumberOfEmployees": None if rng.random() < ambiguous else employees,
            "Country": rng.choice(COUNTRIES),
            "Industry": rng.choice(INDUSTRIES),
            "LeadSource": "Web",
            "OwnerId": "0055f000000001cAAA",
        }
        fields = {name: value for name, value in fields.items() if value is not None}
        rows.append(
            ChangeEvent(
                entity="Lead",
                change_type="CREATE",
                record_id=f"00Q5f{n:010d}AAA",
                fields=fields,
                commit_timestamp=now - dt.timedelta(seconds=1),
                commit_user="0055f000000001cAAA",
            )
        )
    return ChangeEvent.objects.bulk_create(rows, batch_size=1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--ambiguous", type=float, default=0.03)
    parser.add_argument("--emulator", action="store_true", help="write owners to an emulated org")
    parser.add_argument("--profile", action="store_true", help="print the hot path (cProfile)")
    parser.add_argument(
        "--phases", action="store_true", help="time each step of the hot path (µs per lead)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _setup(Path(tmp) / "bench.sqlite3")
        import datetime as dt

        import salesforce.client
        from routing import tasks
        from routing.models import Assignment, Rep

        Rep.objects.update(
            work_start=dt.time(0), work_end=dt.time(23, 59, 59), work_days=list(range(7))
        )
        events = _events(args.leads, args.ambiguous)
        ids = [event.id for event in events]
        org_context = None
        if args.emulator:
            org_context, org = _emulated_org(Path(tmp))
            _create_in_org(org, events)
            before = org.control("GET", "/__emulator__/stats").json()["by_endpoint"]
        else:
            from django.conf import settings

            settings.SF_INTEGRATION_USER_ID = "0055f000000001cAAA"
            client = _CountingClient()
            salesforce.client.get_client = lambda workload: client
        batches = [ids[i : i + args.batch] for i in range(0, len(ids), args.batch)]
        phases = _phases_timed() if args.phases else None
        timings = []
        profiler = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        for batch in batches:
            t0 = time.perf_counter()
            if profiler is not None:
                profiler.runcall(tasks.route_leads, batch)
            else:
                tasks.route_leads(batch)
            timings.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - started
        if profiler is not None:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        routed = Assignment.objects.filter(status="written").count()
        if phases is not None:
            print("µs per lead in each step (steps nest: a step includes those indented below it):")
            for (depth, name), seconds in phases.items():
                print(f"  {'  ' * depth}{name:<{44 - 2 * depth}} {seconds / routed * 1e6:7.1f}")
        p95 = statistics.quantiles(timings, n=20)[-1] if len(timings) > 1 else timings[0]
        print(f"leads routed:          {routed} of {args.leads} ({args.ambiguous:.0%} ambiguous)")
        print(f"throughput:            {routed / elapsed:,.0f} leads/s (target ≥ 1,000)")
        speed = host_speed_seconds()
        print(
            f"host speed:            {speed:.2f} s for a 5M-step Python loop; throughput x that = "
            f"{routed / elapsed * speed:,.0f} (compare hosts with this)"
        )
        print(
            f"batch of {args.batch} latency:  p50 {statistics.median(timings) * 1000:.0f} ms, "
            f"p95 {p95 * 1000:.0f} ms"
        )
        if org_context is None:
            calls = client.calls
        else:
            after = org.control("GET", "/__emulator__/stats").json()["by_endpoint"]
            calls = sum(n - before.get(name, 0) for name, n in after.items())
            org_context.__exit__(None, None, None)
        print(
            f"Salesforce calls/lead: {calls / max(routed, 1):.4f} ({calls} calls, login included)"
        )


if __name__ == "__main__":
    main()
