"""Template suggestion metrics: usage, confidence, accuracy against labels, auto-send."""

from __future__ import annotations

import numpy as np
from django.db.models import Count, F

from analytics.dashboard import Dashboard, Table, bar, histogram
from analytics.filters import Filters
from analytics.metrics.common import pct, ratio
from analytics.metrics.flywheel import decisions, label_agreement
from templates_app.choices import SuggestionStatus
from templates_app.models import TemplateSuggestion


def suggestions(filters: Filters):
    queryset = TemplateSuggestion.objects.filter(
        created_at__gte=filters.start_at, created_at__lt=filters.end_at
    )
    return queryset.filter(owner_id=filters.owner) if filters.owner else queryset


def templates_dashboard(filters: Filters) -> Dashboard:
    queryset = suggestions(filters)
    total = queryset.count()
    usage = [
        [row["template__name"] or "(deleted)", row["intent"], row["n"]]
        for row in queryset.values("template__name", "intent")
        .annotate(n=Count("id"))
        .order_by("-n")
    ]
    by_status = dict(queryset.values_list("status").annotate(n=Count("id")))
    sent = by_status.get(SuggestionStatus.SENT, 0)
    failed = by_status.get(SuggestionStatus.SEND_FAILED, 0)
    confidences = list(queryset.values_list("confidence", flat=True)[:100_000])
    counts, edges = (
        np.histogram(confidences, bins=10, range=(0.0, 1.0)) if confidences else ([], [])
    )
    agreement = label_agreement(decisions(filters, workload="templates"))
    rep_matched = queryset.filter(rep_template__isnull=False)
    rep_total = rep_matched.count()
    rep_same = rep_matched.filter(rep_template=F("template")).count()
    deciders = [
        [row["decided_by"], row["n"]]
        for row in queryset.values("decided_by").annotate(n=Count("id")).order_by("-n")
    ]
    return Dashboard(
        title="Templates",
        is_empty=total == 0,
        kpis=[
            ("Suggestions", total),
            ("Auto-sent", sent),
            ("Auto-send success rate", pct(ratio(sent, sent + failed))),
            ("Not sent: opted out", by_status.get(SuggestionStatus.OPTED_OUT, 0)),
            ("Labelled suggestions", agreement["labels"]),
            ("Accuracy against labels", pct(agreement["accuracy"])),
            ("Reps' emails matching a template", rep_total),
            ("Suggestion vs sent agreement", pct(ratio(rep_same, rep_total))),
        ],
        charts=[
            bar("usage", "Suggestions per template", [u[0] for u in usage], [u[2] for u in usage]),
            histogram(
                "confidence",
                "Confidence distribution",
                [int(c) for c in counts],
                [float(e) for e in edges],
                x_title="confidence",
            ),
        ],
        tables=[
            Table(
                "usage",
                "Usage per template and intent",
                ["template", "intent", "suggestions"],
                usage,
            ),
            Table("deciders", "Decided by", ["decider", "suggestions"], deciders),
            Table(
                "status",
                "Delivery status",
                ["status", "suggestions"],
                [[k, v] for k, v in sorted(by_status.items())],
            ),
        ],
    )
