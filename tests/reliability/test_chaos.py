"""Chaos: synthetic traffic with rep responses through a real `manage.py listen` and `manage.py
qcluster` that are SIGKILLed at random moments and restarted (on both brokers), under 5 % REST 503s, session expiry,
stream drops, duplicate deliveries and a gap. Afterwards the org's field history and ground truth
must show every lead routed exactly once, every first response recorded once at the earliest
human touch, and no email auto-sent twice. Sized by CHAOS_* (see tests/reliability/chaos.py)."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from django.db.models import Max
from django_q.brokers import get_broker
from django_q.brokers.orm import ORM
from django_q.models import OrmQ

from routing.choices import AssignmentStatus
from routing.models import Assignment, Rep
from routing.services.config import policy_load
from salesforce import auth
from salesforce.client import get_client
from salesforce.models import ChangeEvent, DeadLetter, ReplayPosition
from salesforce.usage import breaker, recorder
from templates_app.choices import SuggestionStatus
from templates_app.models import EmailTemplate, TemplateSuggestion
from templates_app.services import templates_load_file
from tests.integration.conftest import INTEGRATION_USER, ROOT, Org
from tests.processes import cluster_name
from tests.reliability import chaos
from tests.reliability.chaos import ChaosPlan, Counts, Supervisor

# CI: about two minutes; `make soak` (CHAOS_MINUTES=5) gets a timeout to match.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(max(900, int(ChaosPlan.from_env().seconds * 8))),
]

AUTO_SEND_TEMPLATE = "pricing"
SENDING = SuggestionStatus.SENDING
FALLBACK_QUEUE = {"id": "00G5f0000000006EAA", "name": "Enterprise Desk"}


@pytest.fixture
def org(emulator, settings, transactional_db) -> Iterator[Org]:
    """A freshly reset org aimed at by the test process: the default policy, the templates with
    one auto-sending, every rep at work."""
    assert emulator.control("POST", "/__emulator__/reset").status_code == 200
    for name, value in emulator.connection_env.items():
        setattr(settings, name, value)
    auth.clear_token_cache()
    breaker.reset()
    recorder.discard()
    policy = json.loads((ROOT / "config" / "routing_policy.json").read_text())
    # The default fallback is the intake queue itself: a lead routed there keeps its owner and
    # leaves no trace in the field history. Another queue makes every routing visible.
    policy["fallback_queue"] = FALLBACK_QUEUE
    policy_load(data=policy)
    templates_load_file(ROOT / "config" / "templates.json")
    EmailTemplate.objects.filter(name=AUTO_SEND_TEMPLATE).update(
        auto_send=True, auto_send_threshold=0.0
    )
    Rep.objects.update(
        work_start=dt.time(0),
        work_end=dt.time(23, 59, 59),
        work_days=list(range(7)),
        out_of_office=False,
    )
    yield Org(emulator)
    emulator.control("POST", "/__emulator__/reset")
    auth.clear_token_cache()
    recorder.discard()


def routed_count() -> int:
    """Leads whose owner the app wrote (a rep may have handed some on since)."""
    written = (AssignmentStatus.WRITTEN, AssignmentStatus.OVERRIDDEN)
    return Assignment.objects.filter(status__in=written).count()


def drained(org: Org, queue: str) -> bool:
    """Every published change stored and dispatched, no task waiting in the broker, and every
    workload done with every event (work lost with a killed cluster re-run by the sweep)."""
    last = org.stream()["last_replay_id"]
    stored = ReplayPosition.objects.aggregate(last=Max("replay_id"))["last"] or 0
    if stored < last or ChangeEvent.objects.filter(dispatched_at__isnull=True).exists():
        return False
    if ChangeEvent.objects.filter(pending_workloads__gt=0).exists():
        return False
    broker = get_broker(list_key=queue)
    if isinstance(broker, ORM):
        return not OrmQ.objects.filter(key=queue).exists()
    return broker.queue_size() == 0


def app_state(org: Org, queue: str) -> dict:
    """What the app holds, for the failure message of a run that did not settle."""
    return {
        "assignments": dict(Counter(Assignment.objects.values_list("status", flat=True))),
        "lead events": dict(
            Counter(ChangeEvent.objects.filter(entity="Lead").values_list("change_type", "source"))
        ),
        "undispatched": ChangeEvent.objects.filter(dispatched_at__isnull=True).count(),
        "unfinished work": ChangeEvent.objects.filter(pending_workloads__gt=0).count(),
        "re-run events": ChangeEvent.objects.filter(reruns__gt=0).count(),
        "queued tasks": OrmQ.objects.filter(key=queue).count(),
        "replay positions": list(ReplayPosition.objects.values_list("channel", "replay_id")),
        "stream": org.stream(),
        "traffic": chaos.traffic_status(org),
    }


def first_response_mismatches(org: Org, truth: dict[str, dict]) -> list[str]:
    """Leads whose First_Response_At__c is not the truth's earliest human touch."""
    client = get_client(workload="chaos-check")
    rows = client.query_all(f"SELECT Id, {chaos.FIRST_RESPONSE} FROM Lead")
    recorded = {row["Id"]: row[chaos.FIRST_RESPONSE] for row in rows}
    wrong = []
    for lead_id, item in truth.items():
        expected = item["first_response"]
        value = recorded.get(lead_id)
        ok = value is None if expected is None else chaos.same_instant(value, expected["at"])
        if not ok:
            wrong.append(lead_id)
    return wrong


def auto_sent_per_lead() -> Counter:
    """Emails the integration user sent, per lead they were sent to (EmailMessageRelation)."""
    client = get_client(workload="chaos-check")
    sent = {
        row["Id"]
        for row in client.query_all(
            f"SELECT Id FROM EmailMessage WHERE CreatedById = '{INTEGRATION_USER}'"
        )
    }
    relations = client.query_all(
        "SELECT EmailMessageId, RelationId FROM EmailMessageRelation "
        "WHERE RelationType = 'ToAddress'"
    )
    return Counter(r["RelationId"] for r in relations if r["EmailMessageId"] in sent)


def test_chaos_every_lead_routed_once_first_responses_exact_no_email_twice(
    org, emulator, record_property
):
    plan, counts = ChaosPlan.from_env(), Counts()
    with chaos.replayable(plan):
        queue = cluster_name("chaos")
        supervisor = Supervisor(
            emulator, cluster=queue, Q_TIMEOUT="12", Q_RETRY="15", Q_WORKERS="3"
        )
        runner = chaos.Chaos(plan, org, supervisor, counts)
        before = chaos.emulator_figures(org)
        supervisor.start("qcluster")
        supervisor.start("listen")
        try:
            chaos.started(supervisor)
            emulator.control(
                "POST",
                "/__emulator__/faults",
                json={"errors": {"rest": {"rate": plan.error_rate, "status": 503}}},
            )
            org.stream(duplicate_rate=plan.duplicate_rate)
            began = time.monotonic()

            chaos.run_traffic(org, plan, runner)
            counts.seconds["traffic"] = time.monotonic() - began
            truth = {
                t["id"]: t
                for t in emulator.control("GET", "/__emulator__/truth").json()["records"]
                if t["origin"] == "traffic"
            }
            counts.leads = len(truth)
            try:
                chaos.wait_until_settled(
                    org,
                    routed=routed_count,
                    leads=counts.leads,
                    drained=lambda: drained(org, queue),
                    # the sweep runs every minute, the scheduler looks every 30 s
                    timeout=180 + plan.seconds,
                    seconds=counts.seconds,
                    check=runner.check,
                )
            except AssertionError:
                print(app_state(org, queue))
                raise
            runner.finish()
            counts.met = chaos.emulator_figures(org) - before
            emulator.control("POST", "/__emulator__/faults", json={"clear": True})
            truth = {
                t["id"]: t
                for t in emulator.control("GET", "/__emulator__/truth").json()["records"]
                if t["origin"] == "traffic"
            }
            wrong = first_response_mismatches(org, truth)
            for _ in range(20):  # the last activities may still be in a worker's hands
                if not wrong:
                    break
                time.sleep(0.5)
                wrong = first_response_mismatches(org, {i: truth[i] for i in wrong})
            counts.seconds["settled"] = time.monotonic() - began
        finally:
            runner.stop.set()
            supervisor.stop_all()
            print(supervisor.outputs())
        tokens = runner.tokens | chaos.org_tokens(emulator)
        leaked = chaos.leaked_secrets(supervisor, emulator, tokens=tokens)

        writes = chaos.LeadWrites.read(emulator, leads=truth)
        with_response = [i for i, t in truth.items() if t["first_response"] is not None]
        emails = auto_sent_per_lead()
        counts.routed_once = sum(1 for n in writes.owner.values() if n == 1)
        counts.owner_rewrites = sum(n - 1 for n in writes.owner.values() if n > 1)
        counts.response_rewrites = writes.response_rewrites()
        counts.first_responses = len(with_response)
        counts.first_responses_correct = len(with_response) - len(set(wrong) & set(with_response))
        counts.auto_sent = sum(emails.values())
        counts.rerun_events = ChangeEvent.objects.filter(reruns__gt=0).count()
        counts.reconciled = ChangeEvent.objects.filter(source=ChangeEvent.Source.RECONCILE).count()
        record_property("summary", counts.summary(plan))
        record_property("summary", counts.timing())

        # Every owner written once and changed once: a retry after a write cut short by a kill
        # (Salesforce written, the Assignment not saved) reads the owner instead of rewriting it.
        assert {i: n for i, n in writes.owner.items() if n != 1} == {}
        assert {i: c for i, c in writes.owner_changes.items() if len(c) != 1} == {}
        assert counts.leads >= plan.leads
        assert sum(counts.kills.values()) == 2 * plan.kills
        # every fault reached the app, and the gap was filled by reconciliation. An expiry shows
        # as a REST 401 only when a worker calls before the listener's new login is shared (the
        # token lives in the shared cache), so either side meeting it counts.
        assert [name for name in ("503", *chaos.STREAM_FAULTS) if counts.met[name] == 0] == []
        assert counts.met["401"] + counts.met["unknown_client_replies"] > 0
        assert counts.reconciled > 0
        assert wrong == []
        # A first response is written for every answered lead and no other, and only ever
        # replaced by an earlier one (an earlier touch seen later).
        assert {i: n for i, n in writes.response.items() if (n > 0) != (i in with_response)} == {}
        assert {
            i: c for i, c in writes.response_changes.items() if not chaos.moved_earlier(c)
        } == {}
        # workers recomputing the same lead take turns (PostgreSQL: advisory locks; SQLite:
        # claims), so the second one reads what the first wrote and writes nothing
        assert counts.response_rewrites == 0
        assert len(with_response) > counts.leads * 0.5
        assert [lead for lead, n in emails.items() if n > 1] == []
        # A send interrupted by a kill stays SENDING (at most once: never retried, left to a human).
        statuses = dict(TemplateSuggestion.objects.values_list("lead_id", "status"))
        sent = {lead for lead, status in statuses.items() if status == SuggestionStatus.SENT}
        assert sent <= set(emails)
        assert {statuses.get(lead) for lead in emails} <= {SuggestionStatus.SENT, SENDING}
        assert counts.auto_sent > 0
        assert not DeadLetter.objects.filter(source="sweep").exists()  # no work given up
        # the logs of the real processes show no access token, private key or API key
        assert len(tokens) > 1
        assert leaked == {}


def test_secrets_in_names_a_token_and_a_private_key_line_without_quoting_them(tmp_path):
    key = tmp_path / "key.pem"
    line = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"
    key.write_text(f"-----BEGIN PRIVATE KEY-----\n{line}\nAw==\n-----END PRIVATE KEY-----\n")
    text = f"GET /services/data token=00D!secret-token\n{line}\n== Aw== -----BEGIN PRIVATE KEY-----"

    found = chaos.secrets_in(
        text, tokens={"00D!secret-token", "00D!other"}, private_key=key, api_key=""
    )

    assert found == ["access token #2", "private key line 1"]
