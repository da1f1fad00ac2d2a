"""The learning loop end to end on emulated traffic, with simulated reviewers.

    .venv/bin/python bench/learning_loop.py [--leads 2000] [--labels 1000] [--shadow-leads 500]
        [--workloads templates,routing] [--llm-accuracy 0.9] [--llm-latency-ms 20]

Starts an emulated org (its fake Anthropic endpoint is the LLM) and a scratch SQLite database,
generates leads with ground truth, then, per workload, through the app's own tasks
(``templates_app.tasks.suggest_templates``, ``routing.tasks.route_leads``):

1. LLM only: a first batch of leads is decided (templates: every lead with inquiry text; routing:
   the ambiguous leads) by the LLM;
2. simulated reviewers label a sample of those LLM decisions with the ground truth
   (``flywheel.services.label_record``: correct, or incorrect with the correction);
3. ``model_train`` trains a local model and puts it in shadow; a second batch is decided by the
   LLM with the model beside it (both answers on the same leads);
4. the model is promoted to champion; a third batch is decided.

Prints, per workload: the share of decisions served locally, agreement with the ground truth
(local model, LLM and rules on the same leads), LLM calls and cost per 1,000 leads before and
after, training seconds, and what a confidence threshold would give (from the shadow rows).
"""

from __future__ import annotations

import argparse
import functools
import logging
import math
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
TRIAGE = "00G5f0000000007EAA"  # the seeded org's intake queue "Lead Triage"
LEAD_FIELDS = (
    "Id",
    "FirstName",
    "LastName",
    "Company",
    "Title",
    "Email",
    "Website",
    "City",
    "State",
    "Country",
    "NumberOfEmployees",
    "Industry",
    "LeadSource",
    "Description",
    "HasOptedOutOfEmail",
)
TARGETS = {"templates": ("intent",), "routing": ("segment", "region")}
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)
BATCH = 200

Out = Callable[[str], None]


@dataclass
class PhaseFigures:
    leads: int = 0
    decisions: int = 0
    by_decider: Counter = field(default_factory=Counter)
    llm_calls: int = 0
    cost_usd: float = 0.0
    agreement: dict[str, tuple[int, int]] = field(default_factory=dict)  # who → (right, cases)

    def per_1k(self, value: float) -> float:
        return 1000 * value / self.leads if self.leads else 0.0

    @property
    def local_share(self) -> float:
        return self.by_decider["model"] / self.decisions if self.decisions else 0.0


@dataclass
class WorkloadReport:
    workload: str
    labels: int = 0
    corrected: int = 0
    training_seconds: float = 0.0
    held_out_accuracy: float | None = None
    model_name: str = ""
    phases: dict[str, PhaseFigures] = field(default_factory=dict)
    thresholds: list[tuple[float, float, float, float]] = field(default_factory=list)


# ---- set-up ----------------------------------------------------------------------------------


def django_setup(tmp: Path) -> None:
    """A scratch SQLite database and model directory under ``tmp``, migrated, config loaded."""
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ["FLYWHEEL_MODEL_DIR"] = str(tmp / "models")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flywheel_site.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command(
        "load_config",
        routing=ROOT / "config" / "routing_policy.json",
        templates=ROOT / "config" / "templates.json",
        verbosity=0,
    )


def org_connect(org: object, *, settings: object, accuracy: float, latency_ms: float) -> None:
    """Point Salesforce and the LLM at the emulated org (on ``settings``: Django's, or a test's
    override); every rep works around the clock."""
    import datetime as dt

    from routing.models import Rep

    for name, value in org.connection_env.items():
        setattr(settings, name, value)
    settings.ANTHROPIC_API_KEY = "bench-fake-key"
    settings.ANTHROPIC_BASE_URL = org.url
    reply = org.control(
        "POST", "/__emulator__/anthropic", json={"accuracy": accuracy, "latency_ms": latency_ms}
    )
    reply.raise_for_status()
    Rep.objects.update(
        work_start=dt.time(0), work_end=dt.time(23, 59, 59), work_days=list(range(7))
    )


def leads_generate(org: object, *, count: int, seed: int) -> tuple[list[dict], dict[str, dict]]:
    """``count`` synthetic leads in the org (shuffled) and their ground truth by id."""
    from salesforce.client import get_client

    days = max(1, math.ceil(count / 2000))
    body = {"history_days": days, "leads_per_day": math.ceil(count / days), "seed": seed}
    # Generating history takes longer than the control helper's 30 s timeout.
    reply = requests.post(
        f"{org.url}/__emulator__/traffic", json=body, verify=str(org.ca_bundle), timeout=1800
    )
    reply.raise_for_status()
    client = get_client(workload="templates")
    leads = client.query_all(f"SELECT {', '.join(LEAD_FIELDS)} FROM Lead ORDER BY Id")
    leads = [{k: v for k, v in lead.items() if k != "attributes"} for lead in leads]
    random.Random(seed).shuffle(leads)
    truth = org.control("GET", "/__emulator__/truth").json()["records"]
    return leads[:count], {record["id"]: record for record in truth}


# ---- deciding through the app's tasks ----------------------------------------------------------


def leads_decide(leads: list[dict], *, workloads: tuple[str, ...]) -> None:
    """Lead CREATE events (owned by the intake queue) through routing, then template suggestion,
    the way the listener hands them to the workers: batches of 200."""
    from django.utils import timezone

    from routing.tasks import route_leads
    from salesforce.models import ChangeEvent
    from templates_app.tasks import suggest_templates

    now = timezone.now()
    for start in range(0, len(leads), BATCH):
        rows = ChangeEvent.objects.bulk_create(
            ChangeEvent(
                entity="Lead",
                change_type="CREATE",
                record_id=lead["Id"],
                fields={k: v for k, v in lead.items() if v is not None} | {"OwnerId": TRIAGE},
                commit_timestamp=now,
                commit_user="0055f000000001cAAA",
            )
            for lead in leads[start : start + BATCH]
        )
        ids = [row.id for row in rows]
        if "routing" in workloads:
            route_leads(ids)
        if "templates" in workloads:
            suggest_templates(ids)


# ---- simulated reviewers -------------------------------------------------------------------------


def truth_output(workload: str, output: dict, truth: dict) -> dict:
    """The decision's output with the true targets (templates: the intent's template too)."""
    corrected = {**output, **{target: truth[target] for target in TARGETS[workload]}}
    if workload == "templates":
        corrected["template"] = _templates()[0][truth["intent"]].name
    return corrected


def reviewers_label(
    *, workload: str, lead_ids: list[str], truth: dict[str, dict], count: int, seed: int
) -> tuple[int, int]:
    """Label a random sample of the LLM's decisions on these leads with the ground truth;
    returns (labels, of which corrections)."""
    from flywheel.choices import Verdict
    from flywheel.models import Decision
    from flywheel.services import label_record

    decisions = list(
        Decision.objects.filter(workload=workload, subject_id__in=lead_ids, decider="llm")
        .order_by("id")
        .only("id", "subject_id", "output")
    )
    sample = random.Random(seed).sample(decisions, min(count, len(decisions)))
    corrected = 0
    for decision in sample:
        right = truth_output(workload, decision.output, truth[decision.subject_id])
        if right == decision.output:
            label_record(decision_id=decision.pk, verdict=Verdict.CORRECT)
        else:
            corrected += 1
            label_record(decision_id=decision.pk, verdict=Verdict.INCORRECT, corrected_output=right)
    return len(sample), corrected


# ---- figures -------------------------------------------------------------------------------------


def _right(workload: str, answer: dict, truth: dict) -> bool:
    return all(answer.get(target) == truth.get(target) for target in TARGETS[workload])


def _rules_answer(workload: str, decision: object) -> dict:
    """What the workload's rules alone say on this case (routing: the rules' reading of an
    ambiguous lead; templates: the keyword detector)."""
    if workload == "routing":
        return dict((decision.context or {}).get("rules") or {})
    from templates_app.intents import detect

    return {
        "intent": detect(str(decision.context.get("Description") or ""), _templates()[1]).intent
    }


@functools.cache
def _templates() -> tuple[dict, object]:
    """The active templates by intent and their compiled keywords (read once per run)."""
    from templates_app.selectors import active_templates_by_intent, compiled_keywords

    templates = active_templates_by_intent()
    return templates, compiled_keywords(templates)


def phase_figures(*, workload: str, lead_ids: list[str], truth: dict[str, dict]) -> PhaseFigures:
    """Deciders, LLM calls, cost and agreement with the truth of the model-worthy decisions
    (templates: every lead with text; routing: the ambiguous leads) on ``lead_ids``."""
    from flywheel.gateway import SHADOW_SUFFIX
    from flywheel.models import Decision

    figures = PhaseFigures(leads=len(lead_ids))
    decided = Decision.objects.filter(workload=workload, subject_id__in=lead_ids).order_by("id")
    worthy = [decision for decision in decided if decision.decider != "rules"]
    figures.decisions = len(worthy)
    tally: dict[str, list[int]] = {}

    def score(who: str, answer: dict | None, lead_id: str) -> None:
        if answer is None:
            return
        cell = tally.setdefault(who, [0, 0])
        cell[0] += _right(workload, answer, truth[lead_id])
        cell[1] += 1

    shadows = {
        (d.effect or {}).get("shadow_of"): d
        for d in Decision.objects.filter(
            workload=f"{workload}{SHADOW_SUFFIX}", subject_id__in=lead_ids
        )
    }
    for decision in worthy:
        figures.by_decider[decision.decider] += 1
        asked_llm = decision.decider == "llm" or decision.reason.startswith("llm:")
        figures.llm_calls += asked_llm
        figures.cost_usd += float(decision.cost_usd or 0)
        score("served", decision.output, decision.subject_id)
        score(decision.decider, decision.output, decision.subject_id)
        score("rules alone", _rules_answer(workload, decision), decision.subject_id)
        shadow = shadows.get(decision.pk)
        if shadow is not None and shadow.status != "error":
            score("local (shadow)", shadow.output, decision.subject_id)
    figures.agreement = {who: (right, n) for who, (right, n) in tally.items()}
    return figures


def thresholds_simulate(
    *, workload: str, lead_ids: list[str], truth: dict[str, dict]
) -> list[tuple[float, float, float, float]]:
    """From the shadow phase (LLM and local model on the same cases): with a confidence
    threshold t, the model would answer when its confidence ≥ t and the LLM otherwise.
    Rows: (t, share local, agreement with truth, LLM calls per 1,000 leads)."""
    from flywheel.gateway import SHADOW_SUFFIX
    from flywheel.models import Decision

    champions = {
        d.pk: d
        for d in Decision.objects.filter(workload=workload, subject_id__in=lead_ids, decider="llm")
    }
    pairs = [
        (champions[d.effect["shadow_of"]], d)
        for d in Decision.objects.filter(
            workload=f"{workload}{SHADOW_SUFFIX}", subject_id__in=lead_ids
        ).exclude(status="error")
        if (d.effect or {}).get("shadow_of") in champions
    ]
    rows = []
    for threshold in THRESHOLDS:
        local = [(llm, shadow) for llm, shadow in pairs if shadow.confidence >= threshold]
        right = sum(
            _right(
                workload,
                (shadow if shadow.confidence >= threshold else llm).output,
                truth[llm.subject_id],
            )
            for llm, shadow in pairs
        )
        n = len(pairs) or 1
        llm_calls = 1000 * (len(pairs) - len(local)) / len(lead_ids) if lead_ids else 0.0
        rows.append((threshold, len(local) / n, right / n, llm_calls))
    return rows


# ---- the loop ----------------------------------------------------------------------------------


def loop_run(
    *,
    org: object,
    leads: int,
    labels: int,
    shadow_leads: int,
    routing_leads: int | None = None,
    workloads: tuple[str, ...] = ("templates", "routing"),
    seed: int = 7,
    out: Out = print,
) -> dict[str, WorkloadReport]:
    """LLM only → labels → train (shadow) → shadow batch → champion → batch, per workload; Django
    must be set up with the org connected (see ``django_setup`` and ``org_connect``).

    The LLM-only batch has ``leads`` leads (routing: ``routing_leads``, as only its ambiguous
    leads reach a model), the shadow batch ``shadow_leads`` and the champion batch ``leads``."""
    from flywheel.learning.choices import ModelMode
    from flywheel.learning.services import model_version_mode_set
    from flywheel.learning.training import model_train
    from flywheel.models import ModelVersion

    _templates.cache_clear()
    first = {w: (routing_leads or leads) if w == "routing" else leads for w in workloads}
    started = time.perf_counter()
    pool, truth = leads_generate(org, count=max(first.values()) + shadow_leads + leads, seed=seed)
    out(f"{len(pool)} leads generated with ground truth ({time.perf_counter() - started:.1f} s)")
    batches = {
        w: {
            "llm only": pool[: first[w]],
            "shadow": pool[first[w] : first[w] + shadow_leads],
            "champion": pool[first[w] + shadow_leads : first[w] + shadow_leads + leads],
        }
        for w in workloads
    }
    reports = {workload: WorkloadReport(workload) for workload in workloads}

    def run_phase(phase: str) -> None:
        for workload, report in reports.items():
            batch = batches[workload][phase]
            t0, calls = time.perf_counter(), _llm_requests(org)
            leads_decide(batch, workloads=(workload,))
            lead_ids = [lead["Id"] for lead in batch]
            report.phases[phase] = phase_figures(workload=workload, lead_ids=lead_ids, truth=truth)
            out(
                f"{workload}, {phase}: {len(batch)} leads in {time.perf_counter() - t0:.1f} s, "
                f"{_llm_requests(org) - calls} requests to the LLM endpoint"
            )

    run_phase("llm only")
    for workload, report in reports.items():
        report.labels, report.corrected = reviewers_label(
            workload=workload,
            lead_ids=[lead["Id"] for lead in batches[workload]["llm only"]],
            truth=truth,
            count=labels,
            seed=seed,
        )
        t0 = time.perf_counter()
        trained = model_train(workload=workload, min_labels=1, mode=ModelMode.SHADOW)
        report.training_seconds = time.perf_counter() - t0
        report.model_name = trained.version.name
        report.held_out_accuracy = trained.metrics["accuracy"]
        out(
            f"{workload}: {report.labels} labels ({report.corrected} corrections), "
            f"{report.model_name} trained in {report.training_seconds:.1f} s, in shadow"
        )
    if shadow_leads:
        run_phase("shadow")
        for workload, report in reports.items():
            report.thresholds = thresholds_simulate(
                workload=workload,
                lead_ids=[lead["Id"] for lead in batches[workload]["shadow"]],
                truth=truth,
            )
    for workload in workloads:
        version = ModelVersion.objects.get(workload=workload, mode=ModelMode.SHADOW)
        model_version_mode_set(version=version, mode=ModelMode.CHAMPION)
    run_phase("champion")
    for report in reports.values():
        report_print(report, out=out)
    return reports


def _llm_requests(org: object) -> int:
    return int(org.control("GET", "/__emulator__/anthropic").json()["counts"].get("requests", 0))


def _pct(right_n: tuple[int, int] | None) -> str:
    if not right_n or not right_n[1]:
        return "-"
    return f"{100 * right_n[0] / right_n[1]:.1f}% (n={right_n[1]})"


def report_print(report: WorkloadReport, *, out: Out = print) -> None:
    before, after = report.phases["llm only"], report.phases["champion"]
    shadow = report.phases.get("shadow")
    worthy = "ambiguous leads" if report.workload == "routing" else "leads with inquiry text"
    accuracy = report.held_out_accuracy
    out("")
    out(f"== {report.workload} ({worthy} go to a model) ==")
    out(
        f"labels: {report.labels} ({report.corrected} corrections); {report.model_name} trained in "
        f"{report.training_seconds:.1f} s, held-out accuracy "
        f"{'-' if accuracy is None else f'{100 * accuracy:.1f}%'}"
    )
    out(
        f"model-worthy decisions: {before.decisions} of {before.leads} leads before, "
        f"{after.decisions} of {after.leads} after"
    )
    out(
        f"served locally after promotion: {100 * after.local_share:.1f}% of model-worthy "
        f"decisions, {100 * after.by_decider['model'] / max(1, after.leads):.1f}% of all "
        f"({after.by_decider['model']} of {after.leads}); deciders {dict(after.by_decider)}"
    )
    out("agreement with the ground truth (model-worthy decisions):")
    out(f"  LLM only, as served:          {_pct(before.agreement.get('served'))}")
    out(f"  rules alone, same leads:      {_pct(before.agreement.get('rules alone'))}")
    if shadow is not None:
        out(f"  shadow batch, LLM served:     {_pct(shadow.agreement.get('llm'))}")
        out(f"  shadow batch, local model:    {_pct(shadow.agreement.get('local (shadow)'))}")
        out(f"  shadow batch, rules alone:    {_pct(shadow.agreement.get('rules alone'))}")
    out(f"  after promotion, as served:   {_pct(after.agreement.get('served'))}")
    out(f"  after promotion, rules alone: {_pct(after.agreement.get('rules alone'))}")
    calls_before, calls_after = before.per_1k(before.llm_calls), after.per_1k(after.llm_calls)
    ratio = f"x{calls_after / calls_before:.3f}" if calls_before else "-"
    out(f"LLM calls per 1,000 leads: {calls_before:.1f} LLM-only -> {calls_after:.1f} ({ratio})")
    out(
        f"LLM cost per 1,000 leads:  ${before.per_1k(before.cost_usd):.4f} -> "
        f"${after.per_1k(after.cost_usd):.4f}"
    )
    if report.thresholds:
        out(
            "confidence routing, simulated on the shadow batch (model if confidence >= t, else LLM):"
        )
        for threshold, local, agreement, calls in report.thresholds:
            out(
                f"  t={threshold:.1f}: {100 * local:5.1f}% local, agreement {100 * agreement:.1f}%, "
                f"{calls:.1f} LLM calls per 1,000 leads"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=2000, help="leads per phase (before, after)")
    parser.add_argument("--labels", type=int, default=1000, help="labels per workload")
    parser.add_argument(
        "--routing-leads",
        type=int,
        default=10000,
        help="routing's LLM-only batch (about 1 lead in 10 is ambiguous and reaches the LLM)",
    )
    parser.add_argument("--shadow-leads", type=int, default=500, help="leads decided in shadow")
    parser.add_argument("--workloads", default="templates,routing")
    parser.add_argument("--llm-accuracy", type=float, default=0.9, help="fake LLM's accuracy")
    parser.add_argument("--llm-latency-ms", type=float, default=20.0, help="fake LLM's latency")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    workloads = tuple(name.strip() for name in args.workloads.split(",") if name.strip())
    unknown = set(workloads) - set(TARGETS)
    if unknown:
        parser.error(f"unknown workload(s) {sorted(unknown)}; choose from {sorted(TARGETS)}")
    sys.path.insert(0, str(ROOT))
    from sf_emulator.testing import running_emulator

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        django_setup(Path(tmp))
        from django.conf import settings as django_settings

        for name in ("httpx", "httpx2", "anthropic"):  # one INFO line per LLM call otherwise
            logging.getLogger(name).setLevel(logging.WARNING)
        with running_emulator(Path(tmp) / "org") as org:
            org_connect(
                org,
                settings=django_settings,
                accuracy=args.llm_accuracy,
                latency_ms=args.llm_latency_ms,
            )
            loop_run(
                org=org,
                leads=args.leads,
                labels=args.labels,
                shadow_leads=args.shadow_leads,
                routing_leads=args.routing_leads,
                workloads=workloads,
                seed=args.seed,
            )
    print(f"\ntotal: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
