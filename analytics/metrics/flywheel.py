"""Flywheel metrics: decisions by workload and decider, labels, agreement, cost, LLM latency."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.db.models.functions import TruncDate

from analytics.dashboard import Dashboard, Table, bar, line
from analytics.filters import Filters
from analytics.metrics.common import pct, percentile, ratio
from flywheel.choices import Decider, Verdict
from flywheel.learning.selectors import shadow_figures
from flywheel.models import Decision, Label

MAX_LATENCY_SAMPLE = 50_000


def decisions(filters: Filters, *, workload: str | None = None):
    queryset = Decision.objects.filter(
        created_at__gte=filters.start_at, created_at__lt=filters.end_at
    )
    return queryset.filter(workload=workload) if workload else queryset


def label_agreement(queryset) -> dict:
    """Share of labelled decisions whose label says correct (model-vs-human accuracy)."""
    labels = Label.objects.filter(decision__in=queryset)
    counts = dict(labels.values_list("verdict").annotate(n=Count("id")))
    total = sum(counts.values())
    return {"labels": total, "accuracy": ratio(counts.get(Verdict.CORRECT, 0), total)}


def flywheel_dashboard(filters: Filters) -> Dashboard:
    queryset = decisions(filters)
    total = queryset.count()
    labelled = queryset.filter(Exists(Label.objects.filter(decision=OuterRef("pk")))).count()
    mix = list(
        queryset.values("workload", "decider")
        .annotate(n=Count("id"))
        .order_by("workload", "decider")
    )
    agreement = label_agreement(queryset)
    per_day = list(
        queryset.annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(
            n=Count("id"),
            cost=Sum("cost_usd"),
            tokens_in=Sum("input_tokens"),
            tokens_out=Sum("output_tokens"),
            llm=Count("id", filter=Q(decider=Decider.LLM)),
        )
        .order_by("day")
    )
    llm_latency = list(
        queryset.filter(decider=Decider.LLM).values_list("latency_ms", flat=True)[
            :MAX_LATENCY_SAMPLE
        ]
    )
    total_cost = sum(float(row["cost"] or 0) for row in per_day)
    days = [str(row["day"]) for row in per_day]
    return Dashboard(
        title="Flywheel",
        is_empty=total == 0,
        kpis=[
            ("Decisions", total),
            ("Labelled share", pct(ratio(labelled, total))),
            ("Accuracy against labels", pct(agreement["accuracy"])),
            ("LLM cost (USD)", round(total_cost, 4)),
            ("LLM latency P50 (ms)", percentile(llm_latency, 50)),
            ("LLM latency P95 (ms)", percentile(llm_latency, 95)),
        ],
        charts=[
            line(
                "per_day",
                "Decisions per day",
                days,
                {"all": [r["n"] for r in per_day], "LLM": [r["llm"] for r in per_day]},
            ),
            bar("cost", "LLM cost per day (USD)", days, [float(r["cost"] or 0) for r in per_day]),
        ],
        tables=[
            Table(
                "mix",
                "Decisions by workload and decider",
                ["workload", "decider", "decisions"],
                [[m["workload"], m["decider"], m["n"]] for m in mix],
            ),
            Table(
                "per_day",
                "Cost and tokens per day",
                ["day", "decisions", "LLM decisions", "cost USD", "input tokens", "output tokens"],
                [
                    [
                        str(r["day"]),
                        r["n"],
                        r["llm"],
                        float(r["cost"] or 0),
                        r["tokens_in"] or 0,
                        r["tokens_out"] or 0,
                    ]
                    for r in per_day
                ],
            ),
            shadow_table(filters),
        ],
    )


def shadow_table(filters: Filters) -> Table:
    """Challengers in shadow: agreement with the champion, accuracy against later labels."""
    return Table(
        "shadow",
        "Local models in shadow",
        [
            "workload",
            "model",
            "shadowed",
            "errors",
            "agreement with champion",
            "labelled",
            "model accuracy",
            "champion accuracy",
        ],
        [
            [
                f.workload,
                f.model_name,
                f.shadowed,
                f.errors,
                pct(f.agreement),
                f.labelled,
                pct(f.shadow_accuracy),
                pct(f.champion_accuracy),
            ]
            for f in shadow_figures(since=filters.start_at, until=filters.end_at)
        ],
    )
