"""The chaos run: emulator traffic through a real listener and cluster that get SIGKILLed, under
REST 503s, session expiry, stream drops, duplicate deliveries and a gap; then the org's field
history and ground truth are checked lead by lead.

Sized by the environment: ``CHAOS_LEADS`` (1,000), ``CHAOS_MINUTES`` (traffic phase, 0.5),
``CHAOS_KILLS`` (3 of each process), ``CHAOS_SEED`` (drawn afresh each run; the summary and a
failure print it to replay the timeline). ``make soak`` runs a longer one.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import secrets
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from salesforce.records import parse_sf_datetime
from sf_emulator.org import DB_FILE
from tests.integration.conftest import INTEGRATION_USER
from tests.processes import AppProcess, app_env, wait_for, wait_for_output

SUBSCRIBED = "subscribed to /data/LeadChangeEvent"
FIRST_RESPONSE = "First_Response_At__c"
STREAM_FAULTS = (
    "unknown_client_replies",
    "connects_dropped",
    "duplicates_delivered",
    "gap_events_delivered",
)
TRAFFIC = {
    "time_scale": 7200,  # two simulated hours a second: reps answer within seconds
    "business_hours": False,
    "median_delay_minutes": 20,
}


@dataclass(frozen=True)
class ChaosPlan:
    leads: int
    seconds: float
    kills: int
    seed: int
    error_rate: float = 0.05
    duplicate_rate: float = 0.1

    @classmethod
    def from_env(cls) -> ChaosPlan:
        return cls(
            leads=int(os.environ.get("CHAOS_LEADS", 1000)),
            seconds=float(os.environ.get("CHAOS_MINUTES", 0.5)) * 60,
            kills=int(os.environ.get("CHAOS_KILLS", 3)),
            seed=int(os.environ.get("CHAOS_SEED") or secrets.randbelow(1_000_000)),
        )

    @property
    def session_expiry_every(self) -> float:
        """Every 20 s, and at least once in the traffic phase of a short run."""
        return min(20.0, self.seconds * 0.75)

    @property
    def leads_per_min(self) -> float:
        return self.leads / self.seconds * 60

    def kill_schedule(self, rnd: random.Random) -> list[tuple[float, str]]:
        """When to kill which process: random moments in the first 80 % of the traffic phase."""
        moments = [
            (rnd.uniform(0.1, 0.8) * self.seconds, name)
            for name in ("listen", "qcluster")
            for _ in range(self.kills)
        ]
        return sorted(moments)


@dataclass
class Counts:
    leads: int = 0
    kills: Counter = field(default_factory=Counter)
    met: Counter = field(default_factory=Counter)  # faults as the app met them (emulator_figures)
    reconciled: int = 0
    routed_once: int = 0
    owner_rewrites: int = 0
    response_rewrites: int = 0
    first_responses: int = 0
    first_responses_correct: int = 0
    auto_sent: int = 0
    rerun_events: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self, plan: ChaosPlan) -> str:
        """The counts in one line (printed by the terminal summary hook in tests/conftest.py)."""
        return (
            f"chaos: leads {self.leads}, kills {self.kills['listen']}/{self.kills['qcluster']}, "
            f"503s {self.met['503']}, session expiries {self.met['401']} REST/"
            f"{self.met['unknown_client_replies']} CometD, stream drops "
            f"{self.met['connects_dropped']}, duplicates {self.met['duplicates_delivered']}, gaps "
            f"{self.met['gap_events_delivered']} (reconciled {self.reconciled}), routed once {self.routed_once}/{self.leads} (owner rewritten "
            f"{self.owner_rewrites}, first response rewritten {self.response_rewrites} "
            "with the same value), first responses "
            f"{self.first_responses_correct}/{self.first_responses}, auto-sent "
            f"{self.auto_sent}, seed {plan.seed}"
        )

    def timing(self) -> str:
        return (
            f"chaos: {self.rerun_events} events re-run by the sweep, {self.met['api_calls']} API "
            "calls; "
            "seconds " + ", ".join(f"{name} {value:.0f}" for name, value in self.seconds.items())
        )


@contextmanager
def replayable(plan: ChaosPlan) -> Iterator[None]:
    """A failure inside names the seed that replays its timeline."""
    try:
        yield
    except BaseException as error:
        error.add_note(f"chaos seed {plan.seed}: replay with CHAOS_SEED={plan.seed}")
        raise


class Supervisor:
    """Keeps one listener and one cluster running; SIGKILLs and restarts them on demand.

    On every broker: the tasks a killed cluster held come back by the ORM broker's redelivery
    or, on Redis (no acknowledgements), by the sweep that re-runs unfinished work
    (``salesforce.tasks.rerun_lost_work``, after Q_RETRY)."""

    def __init__(self, emulator, *, cluster: str, **extra: str) -> None:
        self.env = app_env(emulator, cluster=cluster, **extra)
        self.generation = Counter()
        self.processes: dict[str, AppProcess] = {}
        self.retired: list[AppProcess] = []

    def start(self, name: str) -> AppProcess:
        self.generation[name] += 1
        process = AppProcess(f"{name}{self.generation[name]}", [name], self.env)
        self.processes[name] = process
        return process

    def kill(self, name: str) -> str:
        """SIGKILL ``name``; returns the name (for the counts)."""
        self.retired.append(self.processes[name])
        self.processes[name].kill()
        return name

    def subscribed(self) -> bool:
        """The running listener subscribed to the stream (it would not meet a session expiry
        while it is still starting)."""
        return SUBSCRIBED in self.processes["listen"].output()

    def check(self) -> None:
        """Fail fast when a process died on its own (not killed by the chaos)."""
        for process in self.processes.values():
            if process.process.poll() is not None:
                raise AssertionError(
                    f"{process.name} exited with {process.process.returncode}:\n"
                    + process.output()[-3000:]
                )

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.kill()  # the test waited for every effect; a graceful stop only costs time

    def logs(self) -> dict[str, str]:
        """The whole output of every process started, killed ones included."""
        return {p.name: p.output() for p in [*self.retired, *self.processes.values()]}

    def outputs(self, tail: int = 3000) -> str:
        return "\n".join(f"----- {name}\n{text[-tail:]}" for name, text in self.logs().items())


class Chaos(threading.Thread):
    """Fault injection on a seeded timeline while the traffic runs."""

    def __init__(self, plan: ChaosPlan, org, supervisor: Supervisor, counts: Counts) -> None:
        super().__init__(name="chaos", daemon=True)
        self.plan, self.org, self.supervisor, self.counts = plan, org, supervisor, counts
        self.rnd = random.Random(plan.seed)
        self.stop = threading.Event()
        self.failure: BaseException | None = None
        self.tokens: set[str] = set()  # every access token issued, gathered before each expiry

    def check(self) -> None:
        if self.failure is not None:
            raise self.failure

    def finish(self) -> None:
        self.stop.set()
        self.join(30)
        self.check()

    def run(self) -> None:
        try:
            self._run()
        except BaseException as error:  # reported by the test, not lost in the thread
            self.failure = error

    def _run(self) -> None:
        started = time.monotonic()
        kills = self.plan.kill_schedule(self.rnd)
        gap_at = self.rnd.uniform(0.3, 0.6) * self.plan.seconds
        next_expiry = self.plan.session_expiry_every
        next_drop = self.rnd.uniform(3, 10)
        while not self.stop.wait(0.2):
            self.supervisor.check()
            elapsed = time.monotonic() - started
            if kills and elapsed >= kills[0][0]:
                _, name = kills.pop(0)
                self.counts.kills[self.supervisor.kill(name)] += 1
                time.sleep(self.rnd.uniform(0.2, 2.0))  # down for a moment, then restarted
                self.supervisor.start(name)
            if elapsed >= next_expiry and self.supervisor.subscribed():
                self.tokens |= org_tokens(self.org.emulator)
                self.org.emulator.control(
                    "POST", "/__emulator__/faults", json={"expire_sessions": True}
                )
                self.org.stream(expire_sessions=True)
                next_expiry += self.plan.session_expiry_every
            if elapsed >= next_drop:
                self.org.stream(drop=True)
                next_drop += self.rnd.uniform(3, 10)
            if gap_at is not None and elapsed >= gap_at:
                self.org.stream(gap_next=5)  # the next changes arrive as GAP_* headers only
                gap_at = None


def traffic(org, **body: object) -> dict:
    response = org.emulator.control("POST", "/__emulator__/traffic", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def traffic_status(org) -> dict:
    return org.emulator.control("GET", "/__emulator__/traffic").json()


def emulator_figures(org) -> Counter:
    """What the emulator counted so far: the integration user's API calls, 503 and 401 (expired
    session) answers, and the stream faults its clients met."""
    stats = org.emulator.control("GET", "/__emulator__/stats").json()
    figures = Counter({name: int(stats["streaming"][name]) for name in STREAM_FAULTS})
    figures["api_calls"] = int(stats["by_user"].get(INTEGRATION_USER, 0))
    for status in ("503", "401"):
        figures[status] = int(stats["by_status"].get(status, 0))
    return figures


def run_traffic(org, plan: ChaosPlan, chaos: Chaos) -> None:
    """Start the traffic and the chaos, let it create ``plan.leads`` leads, then stop new leads
    (the reps go on answering, the faults go on until the test stops them)."""
    traffic(org, leads_per_min=plan.leads_per_min, seed=plan.seed, **TRAFFIC)
    chaos.start()
    deadline = time.monotonic() + plan.seconds * 3 + 30
    while traffic_status(org)["leads_created"] < plan.leads:
        assert time.monotonic() < deadline, "the traffic generator fell behind"
        chaos.check()
        time.sleep(0.2)
    traffic(org, leads_per_min=0)


def wait_until_settled(
    org,
    *,
    routed: Callable[[], int],
    leads: int,
    drained: Callable[[], bool],
    timeout: float,
    seconds: dict[str, float],
    check: Callable[[], None],
) -> None:
    """Every lead routed, the reps done (or stopped), every change stored and processed.
    ``check`` raises when the run went wrong meanwhile (a process died on its own)."""
    began = time.monotonic()
    wait_for(
        lambda: check() or routed() >= leads,
        timeout=timeout,
        interval=0.5,
        message="every lead routed",
    )
    seconds["routing"] = time.monotonic() - began
    deadline = time.monotonic() + 30
    while traffic_status(org)["pending_actions"] and time.monotonic() < deadline:
        time.sleep(0.5)
    traffic(org, stop=True)  # anything the reps still planned is cancelled (and never happened)
    seconds["reps"] = time.monotonic() - began - seconds["routing"]
    wait_for(
        lambda: check() or drained(),
        timeout=timeout,
        interval=0.5,
        message="every change processed",
    )
    seconds["drain"] = time.monotonic() - began - seconds["routing"] - seconds["reps"]


def started(supervisor: Supervisor, *, timeout: float = 60) -> None:
    wait_for_output(supervisor.processes["listen"], SUBSCRIBED, timeout=timeout)


def org_tokens(emulator) -> set[str]:
    """The access tokens the emulated org holds now (an expiry forgets them)."""
    uri = f"file:{emulator.state_dir / DB_FILE}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as db:
        return {token for (token,) in db.execute("SELECT token FROM sessions")}


def secrets_in(text: str, *, tokens: Iterable[str], private_key: Path, api_key: str) -> list[str]:
    """Which secrets ``text`` shows: access tokens, lines of the private key's body (those long
    enough never to match by chance), the Anthropic key. Named, never quoted."""
    found = [f"access token #{n}" for n, token in enumerate(sorted(tokens), 1) if token in text]
    body = [line for line in private_key.read_text().splitlines() if not line.startswith("-----")]
    found += [
        f"private key line {n}"
        for n, line in enumerate(body, 1)
        if len(line) >= 40 and line in text
    ]
    if api_key and api_key in text:
        found.append("Anthropic API key")
    return found


def leaked_secrets(supervisor: Supervisor, emulator, *, tokens: set[str]) -> dict[str, list[str]]:
    """Per process, the secrets its whole log shows (see :func:`secrets_in`)."""
    key = Path(emulator.connection_env["SF_PRIVATE_KEY_FILE"])
    api_key = os.environ.get("ANTHROPIC_API_KEY", "")
    found = {
        name: secrets_in(text, tokens=tokens, private_key=key, api_key=api_key)
        for name, text in supervisor.logs().items()
    }
    return {name: names for name, names in found.items() if names}


def integration_write_counts(emulator, field_name: str, *, leads: Iterable[str]) -> dict[str, int]:
    """How often the integration user wrote ``field_name`` of each of ``leads`` (same-value
    writes included, which the field history does not show)."""
    counts = emulator.control(
        "GET", f"/__emulator__/writes/Lead?field={field_name}&user_id={INTEGRATION_USER}"
    ).json()
    return {lead: int(counts.get(lead, 0)) for lead in leads}


@dataclass(frozen=True)
class LeadWrites:
    """The integration user's owner and first-response writes per lead, and the changes they
    made for the leads written more than once (the history of a few, read one by one)."""

    owner: dict[str, int]
    response: dict[str, int]
    owner_changes: dict[str, list[tuple[object, object]]]
    response_changes: dict[str, list[tuple[object, object]]]

    @classmethod
    def read(cls, emulator, *, leads: Iterable[str]) -> LeadWrites:
        leads = list(leads)
        owner = integration_write_counts(emulator, "OwnerId", leads=leads)
        response = integration_write_counts(emulator, FIRST_RESPONSE, leads=leads)
        histories = {
            lead: emulator.control("GET", f"/__emulator__/history/Lead/{lead}").json()
            for lead in leads
            if owner[lead] > 1 or response[lead] > 1
        }
        return cls(
            owner=owner,
            response=response,
            owner_changes={i: integration_changes(h, "OwnerId") for i, h in histories.items()},
            response_changes={
                i: integration_changes(h, FIRST_RESPONSE) for i, h in histories.items()
            },
        )

    def response_rewrites(self) -> int:
        """First-response writes that left the value as it was."""
        return sum(self.response[i] - len(c) for i, c in self.response_changes.items())


def integration_changes(history: list[dict], field_name: str) -> list[tuple[object, object]]:
    """(old, new) of every change of ``field_name`` by the integration user, oldest first."""
    return [
        (h["old"], h["new"])
        for h in history
        if h["field"] == field_name and h["user_id"] == INTEGRATION_USER
    ]


def moved_earlier(changes: list[tuple[object, object]]) -> bool:
    """Every change set an instant earlier than the one before (or the first one)."""
    return all(
        new is not None and (old is None or parse_sf_datetime(new) < parse_sf_datetime(old))
        for old, new in changes
    )


def same_instant(recorded: object, expected: str) -> bool:
    at = parse_sf_datetime(recorded) if isinstance(recorded, str) else None
    truth = dt.datetime.fromisoformat(expected)
    return at is not None and abs((at - truth).total_seconds()) < 1
