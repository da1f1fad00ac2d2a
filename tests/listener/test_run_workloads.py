"""One task per listener batch: routing first, each workload isolated from the others."""

import pytest

from salesforce.dispatch import PROCESS_ACTIVITY, ROUTE_LEADS, SUGGEST_TEMPLATES
from salesforce.workloads import WorkloadsFailed, run_workloads


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

        return run


@pytest.fixture
def ran(monkeypatch) -> Ran:
    """The three lead workloads replaced by recorders."""
    recorded = Ran()
    for path in (ROUTE_LEADS, SUGGEST_TEMPLATES, PROCESS_ACTIVITY):
        monkeypatch.setattr(path, recorded.workload(path))
    return recorded


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
