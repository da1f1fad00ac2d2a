"""Is the emulator still responsive while the traffic generator runs at 1,000 leads a minute?

Starts an emulator, measures a simple REST read (GET sobjects/Lead/<id>) for a baseline, then
again while synthetic leads arrive at the given rate, a stand-in for the app assigns them in
batches through sObject Collections and simulated reps answer. Prints latency percentiles.

    .venv/bin/python bench/emulator_traffic.py [--rate 1000] [--seconds 60]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import requests
from _harness import login

from sf_emulator.testing import EmulatorProcess, running_emulator

REPS = ["0055f0000000001AAA", "0055f0000000006AAA", "0055f000000000BAAQ", "0055f000000000FAAQ"]


def sample(session: requests.Session, lead_id: str, seconds: float) -> tuple[list[float], int]:
    """Latencies (ms) of back-to-back reads, one every 50 ms, and the count of failures."""
    latencies, failures = [], 0
    url = f"{session.base_url}/sobjects/Lead/{lead_id}"  # type: ignore[attr-defined]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.perf_counter()
        response = session.get(url, timeout=30)
        latencies.append((time.perf_counter() - started) * 1000)
        failures += response.status_code != 200
        time.sleep(0.05)
    return latencies, failures


def assign_loop(
    emulator: EmulatorProcess, session: requests.Session, stop: threading.Event
) -> dict:
    """Play the app: every 2 s, give the new leads to reps, 200 per sObject Collections call."""
    seen: set[str] = set()
    counts = {"assigned": 0, "calls": 0, "errors": 0}
    url = f"{session.base_url}/composite/sobjects"  # type: ignore[attr-defined]
    while not stop.wait(2.0):
        records = emulator.control("GET", "/__emulator__/truth").json()["records"]
        fresh = [r["id"] for r in records if r["id"] not in seen and r["origin"] == "traffic"]
        for start in range(0, len(fresh), 200):
            batch = fresh[start : start + 200]
            body = {
                "allOrNone": False,
                "records": [
                    {"attributes": {"type": "Lead"}, "id": lead_id, "OwnerId": REPS[i % len(REPS)]}
                    for i, lead_id in enumerate(batch)
                ],
            }
            response = session.patch(url, json=body, timeout=30)
            counts["calls"] += 1
            counts["errors"] += response.status_code != 200
            counts["assigned"] += len(batch)
        seen.update(fresh)
    return counts


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return (
        f"n={len(ordered)} p50={statistics.median(ordered):.1f} ms p95={pick(0.95):.1f} ms "
        f"p99={pick(0.99):.1f} ms max={ordered[-1]:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000.0, help="leads per minute")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long traffic runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state, running_emulator(Path(state)) as emulator:
        session = login(emulator.connection_env)
        probe = emulator.control(
            "POST", "/__emulator__/records/Lead", json={"LastName": "Probe", "Company": "Bench"}
        ).json()["id"]
        baseline, _ = sample(session, probe, 5.0)
        print(f"baseline  GET sobjects/Lead/<id>: {percentiles(baseline)}")

        settings = {"leads_per_min": args.rate, "respond": True, "seed": 1, "time_scale": 600}
        emulator.control(
            "POST", "/__emulator__/traffic", json={**settings, "business_hours": False}
        )
        stop, result = threading.Event(), {}
        assigner = threading.Thread(
            target=lambda: result.update(
                assign_loop(emulator, login(emulator.connection_env), stop)
            )
        )
        started = time.monotonic()
        assigner.start()
        loaded, failures = sample(session, probe, args.seconds)
        stop.set()
        assigner.join()
        elapsed = time.monotonic() - started
        status = emulator.control("POST", "/__emulator__/traffic", json={"stop": True}).json()
        records = emulator.control("GET", "/__emulator__/truth").json()["records"]
        answered = sum(1 for record in records if record["first_response"])
        stats = emulator.control("GET", "/__emulator__/stats").json()["records"]

        print(f"traffic   GET sobjects/Lead/<id>: {percentiles(loaded)} failures={failures}")
        print(
            f"generator leads={status['leads_created']} in {elapsed:.1f} s "
            f"({status['leads_created'] / elapsed * 60:.0f}/min, asked {args.rate:.0f}/min)"
        )
        print(
            f"app stand-in assigned={result.get('assigned', 0)} in {result.get('calls', 0)} "
            f"collection calls, errors={result.get('errors', 0)}; first responses={answered}"
        )
        print(f"records   {stats}")


if __name__ == "__main__":
    main()
