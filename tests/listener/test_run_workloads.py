"""One task per listener batch: routing first, each workload isolated from the others."""

import pytest

from salesforce import inbox
from salesforce.cdc import parse_message
from salesforce.dispatch import PROCESS_ACTIVITY, ROUTE_LEADS, SUGGEST_TEMPLATES
from salesforce.models import ChangeEvent
from salesforce.pending import WORKLOAD_BITS, work_done
from salesforce.workloads import WorkloadsFailed, run_workloads
from tests.listener.factories import INTEGRATION_USER, cdc_message

pytestmark = pytest.mark.django_db


class Ran(list):
    """(workload, event ids) in the order they ran; workloads in ``failing`` raise."""

    def __init__(self) -> None:
        super().__init__()
        self.failing: set[str] = set()

    def workload(self, path: str):
        def run(event_ids: list[int]) -> None:
            self.append((path, event_ids))
            if path in self.failing:
                raise ConnectionError(f"{path} could not reach Salesforce")
            work_done(task=path, event_ids=event_ids)  # as every workload does when it finished

        return run


@pytest.fixture
def ran(monkeypatch) -> Ran:
    """The three lead workloads replaced by recorders."""
    recorded = Ran()
    for path in (ROUTE_LEADS, SUGGEST_TEMPLATES, PROCESS_ACTIVITY):
        monkeypatch.setattr(path, recorded.workload(path))
    return recorded


@pytest.fixture
def dispatched() -> dict[str, list[int]]:
    """Two new leads stored and dispatched: the plan of their one task."""
    changes = [c for n in range(2) for c in parse_message(cdc_message(replay_id=900 + n))]
    ids = inbox.events_store(changes=changes, source="cdc")
    plans: list[dict[str, list[int]]] = []
    inbox.events_dispatch(event_ids=ids, integration_user_id=INTEGRATION_USER, enqueue=plans.append)
    return plans[0]


def test_finished_workloads_clear_their_pending_bits_in_one_update(
    ran, dispatched, django_assert_num_queries
):
    with django_assert_num_queries(1):
        run_workloads(dispatched)

    assert set(ChangeEvent.objects.values_list("pending_workloads", flat=True)) == {0}


def test_a_failed_workload_keeps_its_bit_for_the_sweep_and_the_others_clear_theirs(ran, dispatched):
    ran.failing.add(SUGGEST_TEMPLATES)

    with pytest.raises(WorkloadsFailed):
        run_workloads(dispatched)

    bits = set(ChangeEvent.objects.values_list("pending_workloads", flat=True))
    assert bits == {WORKLOAD_BITS[SUGGEST_TEMPLATES]}


def test_routing_runs_before_templates_and_ttfr_whatever_the_plan_order(ran):
    plan = {PROCESS_ACTIVITY: [1, 2, 3], SUGGEST_TEMPLATES: [1, 2], ROUTE_LEADS: [1, 2]}

    done = run_workloads(plan)

    assert [path for path, _ in ran] == [ROUTE_LEADS, SUGGEST_TEMPLATES, PROCESS_ACTIVITY]
    assert ran[2] == (PROCESS_ACTIVITY, [1, 2, 3])
    assert done == {ROUTE_LEADS: 2, SUGGEST_TEMPLATES: 2, PROCESS_ACTIVITY: 3}


def test_a_failing_workload_does_not_stop_the_others_and_fails_the_task(ran):
    ran.failing.add(SUGGEST_TEMPLATES)

    with pytest.raises(WorkloadsFailed, match="suggest_templates: ConnectionError"):
        run_workloads({ROUTE_LEADS: [7], SUGGEST_TEMPLATES: [7], PROCESS_ACTIVITY: [7]})

    assert [path for path, _ in ran] == [ROUTE_LEADS, SUGGEST_TEMPLATES, PROCESS_ACTIVITY]


def test_a_failing_routing_still_lets_templates_and_ttfr_see_the_leads(ran):
    ran.failing.add(ROUTE_LEADS)

    with pytest.raises(WorkloadsFailed):
        run_workloads({ROUTE_LEADS: [9], SUGGEST_TEMPLATES: [9], PROCESS_ACTIVITY: [9]})

    assert [path for path, _ in ran][1:] == [SUGGEST_TEMPLATES, PROCESS_ACTIVITY]


def test_a_plan_naming_something_other_than_a_workload_runs_nothing(ran):
    with pytest.raises(ValueError, match="not a workload task"):
        run_workloads({"os.system": [1], ROUTE_LEADS: [1]})

    assert ran == []


def test_a_new_worker_imports_every_workload_before_its_first_task():
    from django_q.signals import post_spawn

    from salesforce.workloads import workloads_warm

    replies = post_spawn.send(sender="django_q", proc_name="Process-1:1")

    assert workloads_warm in [receiver for receiver, _ in replies]
