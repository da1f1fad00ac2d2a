"""manage.py export_flywheel: JSONL checked line by line (SFT, DPO, split, de-duplication, PII)."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from flywheel.models import Decision, Label
from flywheel.services import label_record
from tests.flywheel.conftest import RULES_OUTPUT, Rules

pytestmark = pytest.mark.django_db
CORRECTED = {"segment": "MM", "owner_id": None, "reason": "about 300 staff"}


def _messages(text: str) -> list[dict]:
    return [
        {"role": "system", "content": "You route leads."},
        {"role": "user", "content": text},
    ]


def _export(out: Path, *args: str) -> str:
    stdout = StringIO()
    call_command("export_flywheel", "--out", str(out), *args, stdout=stdout, stderr=StringIO())
    return stdout.getvalue()


def _lines(path: Path) -> list[dict]:
    """Every line of a JSONL file, each parsed on its own (a bad line fails the test)."""
    return [json.loads(line) for line in path.read_text().splitlines()]


def _all_lines(out: Path, pattern: str = "*/????-??-??.jsonl") -> list[dict]:
    return [line for path in sorted(out.glob(pattern)) for line in _lines(path)]


def test_sft_lines_are_chat_examples_with_the_corrected_answer(tmp_path, decide_case):
    kept = decide_case(messages=_messages("Acme, 12 employees")).decision_id
    corrected = decide_case(messages=_messages("Globex, 300 employees")).decision_id
    label_record(decision_id=corrected, verdict="incorrect", corrected_output=CORRECTED)

    summary = _export(tmp_path)

    lines = _all_lines(tmp_path)
    assert "Exported 2 line(s) in 1 file(s) (routing 2)" in summary
    assert len(lines) == 2
    for line in lines:
        assert [m["role"] for m in line["messages"]] == ["system", "user", "assistant"]
        assert all(isinstance(m["content"], str) for m in line["messages"])
    answers = {
        line["messages"][1]["content"]: json.loads(line["messages"][2]["content"]) for line in lines
    }
    assert answers == {"Acme, 12 employees": RULES_OUTPUT, "Globex, 300 employees": CORRECTED}
    assert kept != corrected


def test_one_file_per_workload_per_day(tmp_path, decide_case):
    first = decide_case(messages=_messages("a")).decision_id
    decide_case(messages=_messages("b"))
    decide_case(workload="triage", messages=_messages("c"))
    Decision.objects.filter(pk=first).update(created_at=dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC))

    _export(tmp_path)

    today = dt.datetime.now(dt.UTC).date().isoformat()
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.jsonl"))
    assert files == ["routing/2026-01-05.jsonl", f"routing/{today}.jsonl", f"triage/{today}.jsonl"]


def test_dpo_pairs_prefer_the_correction_over_the_original(tmp_path, decide_case):
    corrected = decide_case(messages=_messages("Globex")).decision_id
    accepted = decide_case(messages=_messages("Acme")).decision_id
    decide_case(messages=_messages("unlabeled"))
    label_record(decision_id=corrected, verdict="incorrect", corrected_output=CORRECTED)
    label_record(decision_id=accepted, verdict="correct")

    _export(tmp_path, "--format", "dpo")

    (pair,) = _all_lines(tmp_path)
    assert [m["role"] for m in pair["input"]["messages"]] == ["system", "user"]
    assert pair["input"]["messages"][1]["content"] == "Globex"
    assert [m["role"] for m in pair["preferred_output"]] == ["assistant"]
    assert json.loads(pair["preferred_output"][0]["content"]) == CORRECTED
    assert json.loads(pair["non_preferred_output"][0]["content"]) == RULES_OUTPUT


def test_human_label_outranks_an_implicit_one(tmp_path, decide_case):
    decision_id = decide_case().decision_id
    label_record(
        decision_id=decision_id,
        verdict="incorrect",
        corrected_output=CORRECTED,
        source="implicit",
    )
    label_record(decision_id=decision_id, verdict="correct")

    _export(tmp_path)

    (line,) = _all_lines(tmp_path)
    assert json.loads(line["messages"][2]["content"]) == RULES_OUTPUT


def test_split_puts_every_line_on_one_side_the_same_way_each_time(tmp_path, decide_case):
    for n in range(40):
        decide_case(messages=_messages(f"lead {n}"))

    _export(tmp_path / "one", "--split", "0.7")
    _export(tmp_path / "two", "--split", "0.7")

    train = _lines(tmp_path / "one" / "routing" / "train.jsonl")
    validation = _lines(tmp_path / "one" / "routing" / "validation.jsonl")
    prompts = {line["messages"][1]["content"] for line in train + validation}
    assert len(train) + len(validation) == 40 and len(prompts) == 40
    assert 15 <= len(train) <= 38 and validation
    assert (tmp_path / "two" / "routing" / "train.jsonl").read_text() == (
        tmp_path / "one" / "routing" / "train.jsonl"
    ).read_text()


def test_identical_examples_are_written_once(tmp_path, decide_case):
    decide_case(subject_id="00Q000000000001AAA")
    decide_case(subject_id="00Q000000000002AAA")  # same prompt, same answer

    summary = _export(tmp_path)

    assert len(_all_lines(tmp_path)) == 1
    assert "1 duplicate(s)" in summary


def test_labeled_only_and_errors_and_wrong_answers_without_correction(tmp_path, decide_case):
    labeled = decide_case(messages=_messages("labeled")).decision_id
    wrong = decide_case(messages=_messages("wrong")).decision_id
    decide_case(messages=_messages("unlabeled"))
    decide_case(
        messages=_messages("error"),
        rules=lambda _c: Rules(output={"segment": "HUGE"}, confidence=1, explanation=""),
    )
    label_record(decision_id=labeled, verdict="correct")
    label_record(decision_id=wrong, verdict="incorrect")

    _export(tmp_path, "--labeled-only")

    prompts = [line["messages"][1]["content"] for line in _all_lines(tmp_path)]
    assert Decision.objects.filter(status="error").count() == 1
    assert prompts == ["labeled"]


def test_redact_pii_removes_emails_and_phones(tmp_path, decide_case):
    text = "Jane <jane.doe@acme.example> +1 (415) 555-0134, office 030 1234 5678; 250 staff"
    decide_case(messages=_messages(text))

    _export(tmp_path / "plain")
    _export(tmp_path / "redacted", "--redact-pii")

    plain = (tmp_path / "plain").rglob("*.jsonl").__next__().read_text()
    (line,) = _all_lines(tmp_path / "redacted")
    user = line["messages"][1]["content"]
    assert "jane.doe@acme.example" in plain and "555-0134" in plain
    assert user == "Jane <[email]> [phone], office [phone]; 250 staff"


def test_since_keeps_later_decisions_only(tmp_path, decide_case):
    old = decide_case(messages=_messages("old")).decision_id
    decide_case(messages=_messages("new"))
    Decision.objects.filter(pk=old).update(created_at=dt.datetime(2025, 12, 31, tzinfo=dt.UTC))

    _export(tmp_path, "--since", "2026-01-01")

    assert [line["messages"][1]["content"] for line in _all_lines(tmp_path)] == ["new"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workload", "nope"], "No decisions for workload 'nope'"),
        (["--since", "yesterday"], "is not a date"),
        (["--split", "1.5"], "--split must be between 0 and 1"),
    ],
)
def test_bad_options_are_refused_with_a_sentence(tmp_path, decide_case, args, message):
    decide_case()

    with pytest.raises(CommandError, match=message):
        _export(tmp_path, *args)


def test_no_api_key_is_stored_in_a_decision_or_exported(tmp_path, decide_case, settings):
    key = "sk-ant-api03-very-secret-key-0123456789abcdef"
    settings.ANTHROPIC_API_KEY = key
    settings.LLM_MAX_RETRIES = 0
    result = decide_case(
        context={"lead": {"Company": "Acme", "Description": f"my key is {key}"}},
        messages=_messages(f"Description: my key is {key}"),
        rules=lambda _c: Rules(
            output={"segment": "SMB", "reason": f"echo {key}"}, confidence=0.9, explanation=""
        ),
        use_llm=True,  # the LLM is unreachable in tests: a fallback with its reason recorded
    )
    label_record(decision_id=result.decision_id, verdict="correct")

    _export(tmp_path)

    row = Decision.objects.values().get()
    assert row["status"] == "fallback"
    assert key not in json.dumps(row, default=str)
    assert key not in json.dumps(list(Label.objects.values()), default=str)
    assert key not in (tmp_path / "routing").rglob("*.jsonl").__next__().read_text()
