"""The sweep re-runs TTFR and template work whose task was lost (a worker SIGKILLed on the Redis
broker) or raised, never work that finished, and template auto-send stays at most once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.utils import timezone
from django.utils.module_loading import import_string

from salesforce import sweep
from salesforce.dispatch import PROCESS_ACTIVITY, ROUTE_LEADS, SUGGEST_TEMPLATES
from salesforce.inbox import events_dispatch
from salesforce.models import ChangeEvent, DeadLetter
from templates_app import services as templates_services
from templates_app import tasks as templates_tasks
from templates_app.choices import SuggestionStatus
from templates_app.models import EmailTemplate, TemplateSuggestion
from tests.templates.conftest import SEED
from tests.templates.test_suggestions import create_lead, sent_emails
from tests.ttfr import fakes
from tests.ttfr.events import event
from ttfr import tasks as ttfr_tasks

pytestmark = pytest.mark.django_db
GRACE = dt.timedelta(seconds=180)


class Broker:
    """Records what is enqueued; ``lose`` drops it (a killed worker), ``run`` runs it now."""

    def __init__(self, *, run: tuple[str, ...] = ()) -> None:
        self.run = run
        self.enqueued: dict[str, list[int]] = {}

    def __call__(self, plan: dict[str, list[int]]) -> None:
        for task, event_ids in plan.items():
            self.enqueued.setdefault(task, []).extend(event_ids)
            if task in self.run:
                import_string(task)(event_ids)


def dispatch(*events: ChangeEvent, minutes_ago: float = 5) -> None:
    """Dispatch ``events`` to a broker that loses every task, ``minutes_ago``."""
    ids = [e.id for e in events]
    events_dispatch(event_ids=ids, integration_user_id=fakes.INTEGRATION, enqueue=Broker())
    at = timezone.now() - dt.timedelta(minutes=minutes_ago)
    ChangeEvent.objects.filter(id__in=ids).update(dispatched_at=at)


def sweep_later(broker: Callable[[dict[str, list[int]]], None]) -> sweep.SweepResult:
    """The sweep once the grace period of every dispatch so far has passed."""
    ChangeEvent.objects.update(dispatched_at=timezone.now() - dt.timedelta(minutes=5))
    return sweep_now(broker)


def sweep_now(broker: Callable[[dict[str, list[int]]], None], **kwargs) -> sweep.SweepResult:
    return sweep.lost_work_rerun(now=timezone.now(), grace=GRACE, enqueue=broker, **kwargs)


@pytest.fixture
def ttfr_client(monkeypatch) -> fakes.FakeClient:
    client = fakes.FakeClient()
    client.add("Lead", fakes.lead(fakes.LEAD_A), fakes.lead(fakes.LEAD_B))
    monkeypatch.setattr(ttfr_tasks, "get_client", lambda workload: client)
    return client


def test_lost_ttfr_work_is_rerun_once_and_finished_work_never(ttfr_client):
    # given two calls logged on leads, dispatched 5 minutes ago; only the first task finished
    call_a = fakes.task(fakes.LEAD_A, at=fakes.T0 + dt.timedelta(minutes=5))
    call_b = fakes.task(fakes.LEAD_B, at=fakes.T0 + dt.timedelta(minutes=7))
    ttfr_client.add("Task", call_a, call_b)
    done = event("Task", "CREATE", call_a["Id"], {"WhoId": fakes.LEAD_A}, own=False)
    lost = event("Task", "CREATE", call_b["Id"], {"WhoId": fakes.LEAD_B}, own=False)
    dispatch(done, lost)
    ttfr_tasks.process_activity([done.id])

    # when the sweep runs on a working cluster, then again
    broker = Broker(run=(PROCESS_ACTIVITY,))
    first = sweep_now(broker)
    second = sweep_later(broker)

    # then only the lost event was processed again, once, and its first response is written
    assert first.rerun == {PROCESS_ACTIVITY: 1} and second.rerun == {}
    assert broker.enqueued == {PROCESS_ACTIVITY: [lost.id]}
    assert ttfr_client.get("Lead", fakes.LEAD_B)["First_Response_At__c"] == fakes.sf(
        fakes.T0 + dt.timedelta(minutes=7)
    )


def test_work_within_the_grace_period_or_behind_a_busy_queue_is_left_alone(ttfr_client):
    # given one event dispatched a minute ago and one 5 minutes ago, neither processed yet
    recent = event("Task", "CREATE", fakes.new_id("00T"), {"WhoId": fakes.LEAD_A})
    old = event("Task", "CREATE", fakes.new_id("00T"), {"WhoId": fakes.LEAD_B})
    dispatch(recent, minutes_ago=1)
    dispatch(old)
    broker = Broker()

    # when the sweep runs while tasks wait in the broker, then when the queue is empty
    busy = sweep_now(broker, queue_size=3)
    idle = sweep_now(broker)

    # then nothing is re-run behind the queue, and only the old event once it is empty
    assert busy.skipped_busy_queue and busy.rerun == {}
    assert broker.enqueued == {PROCESS_ACTIVITY: [old.id]}
    assert idle.rerun == {PROCESS_ACTIVITY: 1}


def lead_created(lead_id: str, **fields: object) -> ChangeEvent:
    base = {"LastName": "Lopez", "Company": "Acme", "Email": "ana@acme.test"}
    return event("Lead", "CREATE", lead_id, {**base, **fields})


@pytest.fixture
def auto_send() -> None:
    templates_services.templates_load_file(SEED)
    EmailTemplate.objects.filter(intent="pricing").update(auto_send=True, auto_send_threshold=0.5)


def test_a_lost_template_suggestion_is_made_and_sent_once_by_the_sweep(auto_send, sf_settings):
    # given a new lead asking for pricing whose suggestion task was lost with its worker
    lead_id = create_lead(sf_settings)
    created = lead_created(lead_id, Description="Please send pricing and a quote for 50 seats")
    dispatch(created)

    # when the sweep runs three times, minutes apart (the cluster works again)
    broker = Broker(run=(SUGGEST_TEMPLATES,))
    results = [sweep_later(broker) for _ in range(3)]

    # then the suggestion is made and auto-sent once, and never re-run after it finished
    assert [r.rerun.get(SUGGEST_TEMPLATES, 0) for r in results] == [1, 0, 0]
    assert TemplateSuggestion.objects.get(lead_id=lead_id).status == SuggestionStatus.SENT
    assert sent_emails(sf_settings, lead_id) == 1


class KilledAfterSending:
    """The real client, but the worker dies right after Salesforce sent the emails."""

    def __init__(self, client: object) -> None:
        self.client = client

    def __getattr__(self, name: str) -> object:
        return getattr(self.client, name)

    def send_email_simple(self, inputs: list[dict]) -> list[dict]:
        self.client.send_email_simple(inputs)
        raise SystemExit("SIGKILL")


def test_a_send_interrupted_by_a_kill_is_never_sent_again_by_the_sweep(
    auto_send, sf_settings, monkeypatch
):
    # given a suggestion sent by Salesforce when its worker was killed, before it could record it
    lead_id = create_lead(sf_settings)
    created = lead_created(lead_id, Description="pricing and a quote please")
    dispatch(created)
    real = templates_tasks.get_client
    monkeypatch.setattr(templates_tasks, "get_client", lambda **kw: KilledAfterSending(real(**kw)))
    with pytest.raises(SystemExit):
        templates_tasks.suggest_templates([created.id])
    monkeypatch.setattr(templates_tasks, "get_client", real)

    # when the sweep re-runs the suggestion task on a working cluster
    result = sweep_now(Broker(run=(SUGGEST_TEMPLATES,)))

    # then the task ran again and finished, and no second email left
    assert result.rerun[SUGGEST_TEMPLATES] == 1
    assert TemplateSuggestion.objects.get().status == SuggestionStatus.SENDING
    assert sent_emails(sf_settings, lead_id) == 1
    assert SUGGEST_TEMPLATES not in sweep_later(Broker()).rerun


def test_work_that_never_finishes_is_dead_lettered_after_the_last_rerun():
    # given a TTFR event whose task never finishes (lost or raising every time)
    stuck = event("Task", "CREATE", fakes.new_id("00T"), {"WhoId": fakes.LEAD_A})
    dispatch(stuck)
    broker = Broker()

    # when the sweep runs more often than it may re-run the work
    results = []
    for _ in range(sweep.MAX_RERUNS + 2):
        results.append(sweep_later(broker))

    # then the work was re-run MAX_RERUNS times, then dead-lettered and left alone
    assert [r.rerun.get(PROCESS_ACTIVITY, 0) for r in results] == [1] * sweep.MAX_RERUNS + [0, 0]
    letter = DeadLetter.objects.get(source="sweep")
    assert PROCESS_ACTIVITY in letter.reason and letter.payload["event_ids"] == [stuck.id]
    assert ChangeEvent.objects.get(id=stuck.id).pending_workloads == 0


def given_up(*events: ChangeEvent) -> DeadLetter:
    """``events`` dispatched, lost on every run, dead-lettered by the sweep."""
    dispatch(*events)
    for _ in range(sweep.MAX_RERUNS + 1):
        sweep_later(Broker())
    return DeadLetter.objects.get(source="sweep")


def test_an_operator_retry_runs_given_up_work_again_and_resolves_the_letter(ttfr_client):
    # given TTFR work the sweep gave up on, and a letter of another kind
    call = fakes.task(fakes.LEAD_A, at=fakes.T0 + dt.timedelta(minutes=5))
    ttfr_client.add("Task", call)
    stuck = event("Task", "CREATE", call["Id"], {"WhoId": fakes.LEAD_A}, own=False)
    letter = given_up(stuck)
    malformed = DeadLetter.objects.create(source="cdc", reason="bad payload", payload={"x": 1})

    # when the operator retries both (Salesforce is back: the task now runs)
    broker = Broker(run=(PROCESS_ACTIVITY,))
    retried = sweep.lost_work_retry(letters=[letter, malformed], now=timezone.now(), enqueue=broker)

    # then the given-up work ran once more and finished; the other letter is untouched
    assert retried == (1, 1)
    assert broker.enqueued == {PROCESS_ACTIVITY: [stuck.id]}
    assert ttfr_client.updates  # the first response was written this time
    assert ChangeEvent.objects.get(id=stuck.id).pending_workloads == 0
    letter.refresh_from_db()
    malformed.refresh_from_db()
    assert letter.resolved_at is not None and malformed.resolved_at is None
    # and the sweep has nothing left to do for it
    assert sweep_later(Broker()).rerun == {}


def test_retried_work_that_is_lost_again_gets_its_reruns_afresh():
    stuck = event("Task", "CREATE", fakes.new_id("00T"), {"WhoId": fakes.LEAD_A})
    letter = given_up(stuck)

    sweep.lost_work_retry(letters=[letter], now=timezone.now(), enqueue=Broker())

    row = ChangeEvent.objects.get(id=stuck.id)
    assert (row.pending_workloads, row.reruns) == (8, 0)  # PROCESS_ACTIVITY's bit, fresh count
    assert sweep_later(Broker()).rerun == {PROCESS_ACTIVITY: 1}


def test_ops_retry_given_up_work_from_the_dead_letter_admin(client, monkeypatch):
    from django.contrib.auth.models import Group, User
    from django.urls import reverse

    from flywheel_site.roles import OPS, roles_sync

    stuck = event("Task", "CREATE", fakes.new_id("00T"), {"WhoId": fakes.LEAD_A})
    letter = given_up(stuck)
    broker = Broker()
    monkeypatch.setattr(sweep, "_enqueue_batch", broker)
    roles_sync()
    ops = User.objects.create_user("otto", password="pw-12345-long", is_staff=True)
    ops.groups.add(Group.objects.get(name=OPS))
    client.force_login(ops)

    response = client.post(
        reverse("admin:salesforce_deadletter_changelist"),
        {"action": "retry_given_up_work", "_selected_action": [letter.pk]},
        follow=True,
    )

    assert "1 letter(s) resolved, 1 event(s) enqueued again" in response.content.decode()
    assert broker.enqueued == {PROCESS_ACTIVITY: [stuck.id]}


def test_lost_work_of_many_events_is_rerun_with_a_fixed_number_of_queries(
    django_assert_max_num_queries,
):
    # given 60 lead creations and activity events whose tasks were all lost
    rows = [lead_created(f"00Q5f{n:010d}AAA") for n in range(30)]
    rows += [
        event("Task", "CREATE", fakes.new_id("00T"), {"WhoId": fakes.LEAD_A}) for _ in range(30)
    ]
    dispatch(*rows)
    broker = Broker()

    # when the sweep runs, then in a handful of queries whatever the number of events
    with django_assert_max_num_queries(6):
        result = sweep_now(broker)

    assert result.rerun == {ROUTE_LEADS: 30, SUGGEST_TEMPLATES: 30, PROCESS_ACTIVITY: 60}
