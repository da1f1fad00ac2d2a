"""Admin for model versions: metrics and comparison, and the mode changes Ops make (each behind
a confirmation page). Imported from ``FlywheelConfig.ready``."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join

from flywheel.learning import services
from flywheel.learning.choices import ModelMode
from flywheel.models import ModelVersion
from flywheel_site.roles import MANAGERS, OPS, has_role

_ACTIONS = {
    ModelMode.CHAMPION: (
        "make champion",
        "The version replaces the LLM for this workload's model-worthy cases, for everyone.",
    ),
    ModelMode.SHADOW: (
        "run in shadow",
        "The version answers beside the champion on every case; its answers are only logged.",
    ),
    ModelMode.AB: (
        "start an A/B test",
        "The version decides a stable share of subjects (by record id); the champion the rest.",
    ),
    ModelMode.OFF: (
        "switch off",
        "The version stops serving. Switching off the champion hands the workload back to the "
        "LLM (or the rules when no LLM is configured).",
    ),
}


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = (
        "workload",
        "version",
        "mode",
        "ab_share",
        "held_out_accuracy",
        "held_out",
        "algorithm",
        "created_at",
    )
    list_filter = ("workload", "mode")
    ordering = ("workload", "-version")
    actions = ("make_champion", "make_shadow", "make_ab", "switch_off")
    fields = (
        "workload",
        "version",
        "mode",
        "ab_share",
        "algorithm",
        "comparison_table",
        "per_class_table",
        "calibration_table",
        "training_counts",
        "artifact_path",
        "sha256",
        "history",
        "created_at",
    )
    readonly_fields = fields

    @admin.display(description="Held-out accuracy")
    def held_out_accuracy(self, obj: ModelVersion) -> str:
        value = obj.metrics.get("accuracy")
        return "-" if value is None else f"{100 * value:.1f}%"

    @admin.display(description="Held-out cases")
    def held_out(self, obj: ModelVersion) -> int:
        return int(obj.metrics.get("held_out") or 0)

    @admin.display(description="Comparison on the same held-out cases")
    def comparison_table(self, obj: ModelVersion) -> str:
        rows = obj.metrics.get("comparison") or []
        return _table(
            ["decider", "cases", "accuracy", "latency ms", "cost per 1,000 (USD)"],
            [
                [
                    r.get("decider"),
                    r.get("n"),
                    r.get("accuracy"),
                    r.get("latency_ms"),
                    r.get("cost_per_1k_usd"),
                ]
                for r in rows
            ],
        )

    @admin.display(description="Per class (held-out)")
    def per_class_table(self, obj: ModelVersion) -> str:
        rows = [
            [target, label, m["precision"], m["recall"], m["support"]]
            for target, figures in (obj.metrics.get("targets") or {}).items()
            for label, m in figures["per_class"].items()
        ]
        return _table(["target", "class", "precision", "recall", "support"], rows)

    @admin.display(description="Calibration (held-out)")
    def calibration_table(self, obj: ModelVersion) -> str:
        calibration = obj.metrics.get("calibration") or {}
        rows = [
            [b["range"], b["n"], b["mean_confidence"], b["accuracy"]]
            for b in calibration.get("bins", [])
        ]
        table = _table(["confidence", "cases", "mean confidence", "accuracy"], rows)
        return format_html("Expected calibration error: {}{}", calibration.get("ece"), table)

    @admin.display(description="Training set")
    def training_counts(self, obj: ModelVersion) -> str:
        counts = obj.training_set.get("counts") or {}
        return ", ".join(f"{key}: {value}" for key, value in counts.items())

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return _role(request, OPS, MANAGERS) or super().has_view_permission(request, obj)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _role(request, OPS, MANAGERS) or super().has_module_permission(request)

    def has_promote_permission(self, request: HttpRequest) -> bool:
        return _role(request, OPS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # versions come from training (manage.py train_model)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description="Make champion (replace the LLM)", permissions=["promote"])
    def make_champion(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._mode_action(request, queryset, ModelMode.CHAMPION, "make_champion")

    @admin.action(description="Run in shadow (log only)", permissions=["promote"])
    def make_shadow(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._mode_action(request, queryset, ModelMode.SHADOW, "make_shadow")

    @admin.action(description="Start an A/B test", permissions=["promote"])
    def make_ab(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._mode_action(request, queryset, ModelMode.AB, "make_ab")

    @admin.action(description="Switch off (demote back to the LLM/rules)", permissions=["promote"])
    def switch_off(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._mode_action(request, queryset, ModelMode.OFF, "switch_off")

    def _mode_action(
        self, request: HttpRequest, queryset: QuerySet, mode: str, action: str
    ) -> HttpResponse | None:
        versions = list(queryset.order_by("workload", "version"))
        if mode != ModelMode.OFF and len(versions) != 1:
            self.message_user(request, "Select exactly one version.", messages.ERROR)
            return None
        if request.POST.get("confirm") != "yes":
            return self._confirm_page(request, versions, mode, action)
        share = None
        if mode == ModelMode.AB:
            try:
                share = float(request.POST.get("ab_share", ""))
            except ValueError:
                self.message_user(request, "The A/B share must be a number.", messages.ERROR)
                return None
        for version in versions:
            try:
                services.model_version_mode_set(
                    version=version, mode=mode, ab_share=share, actor=request.user
                )
            except ValidationError as error:
                self.message_user(request, "; ".join(error.messages), messages.ERROR)
                return None
            self.log_change(request, version, f"Mode set to {mode}.")
        names = ", ".join(str(version) for version in versions)
        self.message_user(request, f"Done: {names}.", messages.SUCCESS)
        return None

    def _confirm_page(
        self, request: HttpRequest, versions: list[ModelVersion], mode: str, action: str
    ) -> TemplateResponse:
        verb, explanation = _ACTIONS[ModelMode(mode)]
        seat = ModelMode.CHAMPION if mode == ModelMode.CHAMPION else None
        current = None
        if mode in (ModelMode.SHADOW, ModelMode.AB):
            current = (
                ModelVersion.objects.filter(
                    workload=versions[0].workload, mode__in=[ModelMode.SHADOW, ModelMode.AB]
                )
                .exclude(pk=versions[0].pk)
                .first()
            )
        elif seat is not None:
            current = (
                ModelVersion.objects.filter(workload=versions[0].workload, mode=seat)
                .exclude(pk=versions[0].pk)
                .first()
            )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Confirm: {verb}",
            "explanation": explanation,
            "versions": versions,
            "current": current,
            "action": action,
            "verb": verb,
            "ask_share": mode == ModelMode.AB,
            "ab_share": versions[0].ab_share,
            "back": request.get_full_path(),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/flywheel/learning_confirm.html", context)


def _role(request: HttpRequest, *roles: str) -> bool:
    """``has_role`` once per request and role set (the admin asks many times per page)."""
    cache = request.__dict__.setdefault("_learning_roles", {})
    if roles not in cache:
        cache[roles] = has_role(request.user, *roles)
    return cache[roles]


def _table(headers: list[str], rows: list[list]) -> str:
    if not rows:
        return "-"
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows),
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)
