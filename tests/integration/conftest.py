"""The listener end to end: the emulated org, `manage.py listen` and `manage.py qcluster` as real
processes on the test database (SQLite file, or PostgreSQL + Redis when DATABASE_URL/REDIS_URL are
set). One cluster per test module, with a queue name of its own; listeners per test."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django_q.brokers import get_broker
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.tasks import async_task

from routing.services.config import policy_load_file
from tests.processes import AppProcess, app_env, cluster_name, wait_for

ROOT = Path(__file__).resolve().parents[2]
SEED = json.loads((ROOT / "config" / "org_seed.json").read_text())
INTEGRATION_USER = SEED["integration_user"]["id"]
INTAKE_QUEUE = next(q["id"] for q in SEED["queues"] if q["developer_name"] == "Lead_Triage")
WARM_TASKS = (
    "routing.tasks.route_leads",
    "templates_app.tasks.suggest_templates",
    "ttfr.tasks.process_activity",
)


CLUSTERS = int(os.environ.get("INTEGRATION_CLUSTERS", "1"))


@dataclass
class Cluster:
    """``INTEGRATION_CLUSTERS`` qcluster processes (1 by default; .ci/run starts 2 on PostgreSQL
    + Redis) sharing one queue, as several cluster hosts would."""

    name: str
    processes: list[AppProcess]

    def env(self, emulator, **extra: str) -> dict[str, str]:
        return app_env(emulator, cluster=self.name, **extra)

    def drained(self) -> bool:
        """No task waiting (ORM broker: none waiting or running, as rows stay until acked)."""
        broker = get_broker(list_key=self.name)
        if isinstance(broker, ORM):
            return not OrmQ.objects.filter(key=self.name).exists()
        return broker.queue_size() == 0


@pytest.fixture(scope="module")
def cluster(emulator, django_db_setup, django_db_blocker) -> Iterator[Cluster]:
    """The module's cluster processes; their workers import the workloads before the tests."""
    name = cluster_name("listener")
    env = app_env(emulator, cluster=name)
    running = Cluster(
        name=name,
        processes=[AppProcess(f"qcluster{n}", ["qcluster"], env) for n in range(CLUSTERS)],
    )
    try:
        prefix = Conf.PREFIX
        Conf.PREFIX = name  # tasks are signed with the cluster name as the salt
        try:
            with django_db_blocker.unblock():
                for _ in range(2 * CLUSTERS):  # one of each per worker: no test waits on imports
                    for path in WARM_TASKS:
                        async_task(path, [], cluster=name, sync=False)
                wait_for(running.drained, timeout=60, message="the cluster to warm up")
        finally:
            Conf.PREFIX = prefix
        yield running
    finally:
        for process in running.processes:
            process.kill()  # every test waited for its effects; a graceful stop only costs time
            print(f"----- {process.name}\n{process.output()[-6000:]}")


class Org:
    """The emulated org as a human (and the test) sees it."""

    def __init__(self, emulator) -> None:
        self.emulator = emulator

    def create_leads(self, count: int, *, owner: str = INTAKE_QUEUE, prefix: str = "Lead") -> list:
        """Leads from the intake queue in one transaction (USA, 50 employees: SMB NA)."""
        records = [
            {
                "LastName": f"{prefix} {n}",
                "Company": f"{prefix} Co {n}",
                "Country": "USA",
                "NumberOfEmployees": 50,
                "OwnerId": owner,
            }
            for n in range(count)
        ]
        response = self.emulator.control("POST", "/__emulator__/records/Lead", json=records)
        assert response.status_code in (200, 201), response.text
        return response.json()["ids"]

    def owner_writes(self, lead_id: str) -> list[dict]:
        """The OwnerId changes the app (the integration user) made to a lead."""
        history = self.emulator.control("GET", f"/__emulator__/history/Lead/{lead_id}").json()
        return [h for h in history if h["field"] == "OwnerId" and h["user_id"] == INTEGRATION_USER]

    def owner_write_counts(self, lead_ids: list[str]) -> set[int]:
        """How many times the app wrote each lead's owner, as a set ({1}: exactly once each)."""
        return {len(self.owner_writes(lead_id)) for lead_id in lead_ids}

    def routed(self, lead_ids: list[str]) -> bool:
        return all(self.owner_writes(lead_id) for lead_id in lead_ids)

    def stream(self, **faults: object) -> dict:
        response = self.emulator.control("POST", "/__emulator__/stream", json=faults)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def org(sf_settings, transactional_db) -> Iterator[Org]:
    """A freshly reset org, the default routing policy, and the test process aimed at the org."""
    emulator = sf_settings
    policy_load_file(path=ROOT / "config" / "routing_policy.json")
    yield Org(emulator)
    emulator.control("POST", "/__emulator__/reset")


@pytest.fixture
def start_listener(cluster, emulator, org) -> Iterator[Callable[..., AppProcess]]:
    """Start ``manage.py listen`` processes; all are stopped before the database is flushed."""
    started: list[AppProcess] = []

    def start(*args: str) -> AppProcess:
        process = AppProcess(f"listen{len(started)}", ["listen", *args], cluster.env(emulator))
        started.append(process)
        return process

    yield start
    for process in started:
        process.terminate()
    for process in started:
        print(f"----- {process.name} {process.process.args[2:]}\n{process.output()[-6000:]}")
    try:  # let the last tasks finish before the tables are emptied under them
        wait_for(cluster.drained, timeout=20, message="the task queue to drain")
    except AssertionError:
        print("the task queue did not drain")
