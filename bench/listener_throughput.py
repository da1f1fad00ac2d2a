"""Listener throughput and added lag: `manage.py listen` as a real process against a freshly
started emulated org and a throwaway SQLite database (no cluster: the figure is the listener's
own store + dispatch; the tasks wait in the ORM queue).

    .venv/bin/python bench/listener_throughput.py [--leads 5000] [--batch-size 500] [--polling]

1. Burst: the stream is paused, ``--leads`` leads are created through the control API (200 per
   transaction), then the stream resumes; events/s = leads / time until the last one is stored.
   (With ``--polling`` there is no pause: the time runs from the first create.)
2. Lag: a trickle of single-lead creates; lag per event = stored (``received_at``) minus the
   org's commit timestamp; p50, p95 and max.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import ROOT, app_env, manage

from sf_emulator.testing import running_emulator

TRIAGE = "00G5f0000000007EAA"  # the seed's Lead Triage queue
CHUNK = 200


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def stored(db: sqlite3.Connection) -> int:
    return db.execute(
        "SELECT COUNT(*) FROM salesforce_changeevent WHERE entity = 'Lead' AND change_type = 'CREATE'"
    ).fetchone()[0]


def lead(n: int) -> dict:
    return {
        "LastName": f"Bench {n}",
        "Company": f"Bench Co {n}",
        "Country": "USA",
        "NumberOfEmployees": 50,
        "OwnerId": TRIAGE,
    }


def lags(db: sqlite3.Connection, after_id: int) -> list[float]:
    rows = db.execute(
        "SELECT received_at, commit_timestamp FROM salesforce_changeevent "
        "WHERE id > ? AND entity = 'Lead' AND change_type = 'CREATE'",
        (after_id,),
    ).fetchall()
    return [(_when(received) - _when(commit)).total_seconds() for received, commit in rows]


def _when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--trickle", type=int, default=100, help="single creates for the lag")
    parser.add_argument("--polling", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-listener-") as tmp:
        work = Path(tmp)
        with running_emulator(work / "org") as org:
            env = app_env(
                org.connection_env,
                database_url=f"sqlite:///{work / 'db.sqlite3'}",
                Q_CLUSTER_NAME="bench-listener",
            )
            manage(env, "migrate")
            mode = ["--polling", "--poll-interval", "1"] if args.polling else []
            command = [sys.executable, "manage.py", "listen", "--batch-size", str(args.batch_size)]
            log = (work / "listen.log").open("w")
            listener = subprocess.Popen(
                [*command, *mode], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
            try:
                run(org, work / "db.sqlite3", work / "listen.log", args)
            finally:
                listener.terminate()
                listener.wait(30)
                log.close()


def run(org, database: Path, log: Path, args: argparse.Namespace) -> None:
    ready = "active listener (polling)" if args.polling else "subscribed to"
    wait_until(lambda: ready in log.read_text(), 120, "the listener")
    db = sqlite3.connect(database, timeout=30)
    print(f"listener: {'polling' if args.polling else 'streaming'}, batch size {args.batch_size}")

    if not args.polling:
        org.control("POST", "/__emulator__/stream", json={"pause": True})
    creating = started = time.monotonic()
    for start in range(0, args.leads, CHUNK):
        batch = [lead(n) for n in range(start, min(start + CHUNK, args.leads))]
        org.control("POST", "/__emulator__/records/Lead", json=batch)
    created = time.monotonic()
    if not args.polling:
        started = time.monotonic()
        org.control("POST", "/__emulator__/stream", json={"pause": False})
    wait_until(lambda: stored(db) >= args.leads, 600, "the burst to be stored")
    elapsed = time.monotonic() - started
    print(f"burst: {args.leads} lead creates through the control API in {created - creating:.1f} s")
    print(f"burst: {args.leads} events stored and dispatched in {elapsed:.2f} s")
    print(f"burst: {args.leads / elapsed:.0f} events/s (store + dispatch)")

    (last_id,) = db.execute("SELECT COALESCE(MAX(id), 0) FROM salesforce_changeevent").fetchone()
    for n in range(args.trickle):
        org.control("POST", "/__emulator__/records/Lead", json=lead(args.leads + n))
        time.sleep(0.05)
    wait_until(lambda: stored(db) >= args.leads + args.trickle, 120, "the trickle")
    added = lags(db, last_id)
    print(
        f"lag: {len(added)} single creates, commit → stored: "
        f"p50 {statistics.median(added) * 1000:.0f} ms, "
        f"p95 {percentile(added, 0.95) * 1000:.0f} ms, max {max(added) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
