"""The gateway on the rules path: one row per call, schema checks, bulk recording."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from flywheel.gateway import DecisionResult, Rules, RulesFailed, decide_many
from flywheel.models import Decision
from tests.flywheel.conftest import MESSAGES, RULES_OUTPUT, SCHEMA, smb_rules

pytestmark = pytest.mark.django_db


def test_rules_decision_writes_exactly_one_row_in_chat_format(decide_case):
    # given no decisions yet
    assert Decision.objects.count() == 0
    # when the rules decide one case
    result = decide_case()
    # then one row records it, with the assistant turn holding the output as JSON
    decision = Decision.objects.get()
    assert isinstance(result, DecisionResult)
    assert result.decision_id == decision.pk
    assert (result.decided_by, result.status, result.output) == ("rules", "ok", RULES_OUTPUT)
    roles = [m["role"] for m in decision.conversation["messages"]]
    assert roles == ["system", "user", "assistant"]
    assert json.loads(decision.conversation["messages"][-1]["content"]) == RULES_OUTPUT
    assert (decision.workload, decision.subject_id, decision.policy_version) == (
        "routing",
        "00Q000000000001AAA",
        3,
    )
    assert decision.prompt_version == "routing-v1"
    assert decision.output_schema == SCHEMA
    assert decision.confidence == 0.95
    assert decision.explanation == "12 employees → SMB"
    assert decision.input_tokens is None and decision.cost_usd is None


def test_rules_output_that_breaks_the_schema_is_recorded_as_an_error(decide_case):
    # given rules that answer a segment the schema does not know
    def bad_rules(_context):
        return Rules(output={"segment": "HUGE", "reason": "x"}, confidence=0.5, explanation="")

    # when deciding
    result = decide_case(rules=bad_rules)
    # then the decision is kept but flagged
    assert result.status == "error"
    assert "HUGE" in result.reason
    assert Decision.objects.get().status == "error"


def test_rules_that_raise_are_recorded_then_reraised(decide_case):
    def broken(_context):
        raise KeyError("NumberOfEmployees")

    with pytest.raises(RulesFailed) as raised:
        decide_case(rules=broken)
    decision = Decision.objects.get()
    assert raised.value.decision_ids == [decision.pk]
    assert decision.status == "error"
    assert "KeyError" in decision.reason


def test_decide_many_bulk_records_one_row_per_case_in_order(django_assert_max_num_queries):
    # given 1,200 clear cases
    cases = [
        {
            "subject_id": f"00Q{index:015d}",
            "context": {"index": index},
            "messages": MESSAGES,
            "rules": smb_rules,
        }
        for index in range(1200)
    ]
    # when they are decided at once (SQLite caps parameters per statement, so a few batches)
    with django_assert_max_num_queries(40):
        results = decide_many(
            workload="routing",
            cases=cases,
            prompt_version="routing-v1",
            output_schema=SCHEMA,
            use_llm=False,
            policy_version=1,
        )
    # then each case has its own row, returned in order
    assert Decision.objects.count() == 1200
    subjects = dict(Decision.objects.values_list("pk", "subject_id"))
    assert [subjects[r.decision_id] for r in results] == [c["subject_id"] for c in cases]
    assert {r.decided_by for r in results} == {"rules"}


def test_decisions_are_append_only(decide_case):
    result = decide_case()
    decision = Decision.objects.get(pk=result.decision_id)
    decision.explanation = "rewritten"
    with pytest.raises(Exception, match="append-only"):
        decision.save()
    with pytest.raises(Exception, match="append-only"):
        decision.delete()
    assert Decision.objects.get().explanation == "12 employees → SMB"


def test_workers_import_neither_the_llm_sdk_nor_scikit_learn_until_needed():
    """Both take seconds to import; a worker with no key and no local model pays for neither."""
    code = (
        "import sys, django; django.setup(); "
        "import routing.tasks, templates_app.tasks, ttfr.tasks, flywheel.gateway; "
        "print('anthropic' in sys.modules, 'sklearn' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "flywheel_site.settings_test"},
    )

    assert result.stdout.strip() == "False False", result.stderr


def test_the_light_workload_list_matches_the_learning_specs():
    from flywheel.learning.choices import LEARNING_WORKLOADS
    from flywheel.learning.specs import SPECS

    assert tuple(SPECS) == LEARNING_WORKLOADS
