"""How fast do change events reach a real aiosfstream-ng subscriber through the emulator's CometD?

Starts an emulator and subscribes one aiosfstream-ng client (JWT login, the emulator's CA) to
/data/LeadChangeEvent, then measures:

- latency: one REST lead create at a time; the time from sending the POST to receiving its CREATE
  event, and from the event's commitTimestamp to its arrival;
- live throughput: leads written through sObject Collections (200 a call) while subscribed;
  events per second from the first write to the last event received;
- replay throughput: a new client subscribing with -2 (all retained events) drains the backlog.

    .venv/bin/python bench/emulator_cdc.py [--latency-samples 200] [--leads 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import requests
from _harness import login
from aiosfstream_ng.replay import ReplayOption

from sf_emulator.testing import EmulatorProcess, running_emulator
from tests.emulator.cdc_helpers import streaming_client

CHANNEL = "/data/LeadChangeEvent"
BATCH = 200


def create_lead(session: requests.Session, number: int) -> str:
    url = f"{session.base_url}/sobjects/Lead/"  # type: ignore[attr-defined]
    body = {"LastName": f"Latency {number}", "Company": "Bench"}
    response = session.post(url, json=body, timeout=30)
    response.raise_for_status()
    return response.json()["id"]


def create_batch(session: requests.Session, start: int) -> None:
    records = [
        {"attributes": {"type": "Lead"}, "LastName": f"Load {start + n}", "Company": "Bench"}
        for n in range(BATCH)
    ]
    url = f"{session.base_url}/composite/sobjects"  # type: ignore[attr-defined]
    response = session.post(url, json={"allOrNone": True, "records": records}, timeout=60)
    response.raise_for_status()


def summary(values_ms: list[float]) -> str:
    ordered = sorted(values_ms)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"median={statistics.median(ordered):.1f} ms p95={p95:.1f} ms max={ordered[-1]:.1f} ms"


def quiet_cancelled(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """aiocometd logs the held connect it cancels on close as an error: leave that out."""
    if not isinstance(context.get("exception"), asyncio.CancelledError):
        loop.default_exception_handler(context)


async def measure_latency(emulator: EmulatorProcess, samples: int) -> None:
    asyncio.get_running_loop().set_exception_handler(quiet_cancelled)
    session = login(emulator.connection_env)
    to_write, to_commit = [], []
    async with streaming_client(emulator.connection_env) as client:
        await client.subscribe(CHANNEL)
        for number in range(samples):
            sent = time.perf_counter()
            lead_id = await asyncio.to_thread(create_lead, session, number)
            message = await asyncio.wait_for(client.receive(), 30)
            arrived, arrived_wall = time.perf_counter(), time.time()
            header = message["data"]["payload"]["ChangeEventHeader"]
            assert header["recordIds"] == [lead_id], "events arrived out of order"
            to_write.append((arrived - sent) * 1000)
            to_commit.append(arrived_wall * 1000 - header["commitTimestamp"])
            await asyncio.sleep(0.02)
    print(f"latency   POST sent -> event received ({samples} creates): {summary(to_write)}")
    print(f"latency   commitTimestamp -> event received:            {summary(to_commit)}")


async def measure_live(emulator: EmulatorProcess, leads: int) -> None:
    asyncio.get_running_loop().set_exception_handler(quiet_cancelled)
    session = login(emulator.connection_env)
    async with streaming_client(emulator.connection_env) as client:
        await client.subscribe(CHANNEL)
        started = time.perf_counter()

        def write_all() -> float:
            for start in range(0, leads, BATCH):
                create_batch(session, start)
            return time.perf_counter() - started

        writer = asyncio.create_task(asyncio.to_thread(write_all))
        received = 0
        while received < leads:
            await asyncio.wait_for(client.receive(), 60)
            received += 1
        elapsed = time.perf_counter() - started
        writing = await writer
    print(
        f"live      {received} events (written {BATCH} per collection call in {writing:.2f} s) "
        f"received in {elapsed:.2f} s: {received / elapsed:,.0f} events/s"
    )


async def measure_replay(emulator: EmulatorProcess) -> None:
    asyncio.get_running_loop().set_exception_handler(quiet_cancelled)
    backlog = emulator.control("GET", "/__emulator__/stream").json()["last_replay_id"]
    async with streaming_client(emulator.connection_env, replay=ReplayOption.ALL_EVENTS) as client:
        started = time.perf_counter()
        await client.subscribe(CHANNEL)
        for _ in range(backlog):
            await asyncio.wait_for(client.receive(), 60)
        elapsed = time.perf_counter() - started
    print(
        f"replay    -2 drains {backlog} retained events in {elapsed:.2f} s: "
        f"{backlog / elapsed:,.0f} events/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-samples", type=int, default=200, help="sequential creates")
    parser.add_argument("--leads", type=int, default=5000, help="leads for the throughput run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state, running_emulator(Path(state)) as emulator:
        asyncio.run(measure_latency(emulator, args.latency_samples))
        asyncio.run(measure_live(emulator, args.leads))
        asyncio.run(measure_replay(emulator))


if __name__ == "__main__":
    main()
