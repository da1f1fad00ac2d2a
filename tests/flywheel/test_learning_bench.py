"""bench/learning_loop.py's loop with tiny numbers: LLM only, simulated reviewers, a model trained
and promoted, then the same workload served locally without a single LLM call."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from flywheel.learning.serving import serving_cache_clear
from flywheel.models import Label, ModelVersion

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def _bench_module():
    spec = importlib.util.spec_from_file_location("learning_loop", ROOT / "bench/learning_loop.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # its dataclasses look their module up
    spec.loader.exec_module(sys.modules[spec.name])
    return sys.modules[spec.name]


@pytest.fixture
def bench_org(sf_settings, settings, tmp_path):
    settings.FLYWHEEL_MODEL_DIR = str(tmp_path / "models")
    settings.FLYWHEEL_LINEUP_TTL_SECONDS = 0
    serving_cache_clear(artifacts=True)
    call_command(
        "load_config",
        routing=ROOT / "config/routing_policy.json",
        templates=ROOT / "config/templates.json",
        verbosity=0,
    )
    yield sf_settings
    serving_cache_clear(artifacts=True)
    sf_settings.control("POST", "/__emulator__/reset")  # fake LLM settings back to defaults


def test_labels_train_a_model_that_then_serves_every_inquiry_without_the_llm(bench_org, settings):
    # given an emulated org whose fake LLM answers from the ground truth
    bench = _bench_module()
    bench.org_connect(bench_org, settings=settings, accuracy=0.9, latency_ms=0)
    lines: list[str] = []

    # when the loop runs: 40 leads LLM only, 30 labels, 10 leads in shadow, 40 as champion
    reports = bench.loop_run(
        org=bench_org,
        leads=40,
        labels=30,
        shadow_leads=10,
        workloads=("templates",),
        out=lines.append,
    )

    # then the reviewers labelled 30 LLM decisions and the promoted model served everything
    report = reports["templates"]
    before, shadow, after = (report.phases[p] for p in ("llm only", "shadow", "champion"))
    assert report.labels == 30 == Label.objects.count()
    assert ModelVersion.objects.get(workload="templates").mode == "champion"
    assert (before.llm_calls, before.by_decider["llm"]) == (40, 40)
    assert shadow.agreement["local (shadow)"][1] == 10 == shadow.agreement["llm"][1]
    assert (after.llm_calls, after.by_decider["model"], after.local_share) == (0, 40, 1.0)
    assert after.agreement["served"][1] == 40 and after.agreement["served"][0] > 20
    assert len(report.thresholds) == len(bench.THRESHOLDS)
    text = "\n".join(lines)
    assert "LLM calls per 1,000 leads: 1000.0 LLM-only -> 0.0 (x0.000)" in text
    assert "served locally after promotion: 100.0% of model-worthy decisions" in text
