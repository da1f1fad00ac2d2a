"""The review queue: decisions and labels are read-only here; reviewers label decisions on the
review page (``flywheel.views``) or accept high-confidence ones in bulk."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.views.main import ORDER_VAR, ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import path, reverse
from django.utils.html import format_html

from flywheel import conf, views
from flywheel.models import Decision, Label
from flywheel.selectors import CONFIDENCE_BANDS, review_queue, review_queue_filter
from flywheel.services import decisions_accept


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class LabeledFilter(admin.SimpleListFilter):
    title = "labeled"
    parameter_name = "labeled"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("no", "Unlabeled"), ("yes", "Labeled")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("no", "yes"):
            return queryset.filter(is_labeled=self.value() == "yes")
        return queryset


class ConfidenceBandFilter(admin.SimpleListFilter):
    title = "confidence"
    parameter_name = "band"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [
            (band, f"{band} ({low:g} to {min(high, 1):g})")
            for band, (low, high) in CONFIDENCE_BANDS.items()
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return review_queue_filter(queryset, band=self.value() or "")


class ReviewChangeList(ChangeList):
    """Unlabeled decisions first unless the user sorts by a column. (Not ``get_ordering`` on the
    admin: that also orders the decision choices of other admins, which lack the annotation.)"""

    def get_ordering(self, request: HttpRequest, queryset: QuerySet) -> list[str]:
        if ORDER_VAR in self.params:
            return super().get_ordering(request, queryset)
        return ["is_labeled", "-created_at", "-id"]


class LabelInline(admin.TabularInline):
    model = Label
    extra = 0
    fields = ("verdict", "corrected_output", "source", "reviewer", "note", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "workload",
        "subject_id",
        "decider",
        "status",
        "confidence",
        "labeled",
        "created_at",
        "review",
    )
    list_filter = ("workload", "status", "decider", ConfidenceBandFilter, LabeledFilter)
    search_fields = ("subject_id",)
    show_full_result_count = False
    actions = ("bulk_accept",)
    inlines = (LabelInline,)
    change_list_template = "admin/flywheel/decision/change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Decision]:
        return review_queue()

    def get_changelist(self, request: HttpRequest, **kwargs: object) -> type[ChangeList]:
        return ReviewChangeList

    def get_urls(self) -> list:
        wrap = self.admin_site.admin_view
        return [
            path("next/", wrap(views.review_next), name="flywheel_decision_next"),
            path("export/", wrap(views.export_download), name="flywheel_decision_export"),
            path("export/<int:pk>/", wrap(views.export_file), name="flywheel_decision_export_file"),
            path("<int:pk>/review/", wrap(views.review), name="flywheel_decision_review"),
            path(
                "<int:pk>/push/<int:label_id>/",
                wrap(views.correction_push),
                name="flywheel_decision_push",
            ),
            *super().get_urls(),
        ]

    def has_review_permission(self, request: HttpRequest) -> bool:
        return views.can_review(request.user)

    @admin.display(description="Labeled", boolean=True, ordering="is_labeled")
    def labeled(self, obj: Decision) -> bool:
        return obj.is_labeled

    @admin.display(description="")
    def review(self, obj: Decision) -> str:
        url = reverse("admin:flywheel_decision_review", args=[obj.pk])
        return format_html('<a href="{}">Review</a>', url)

    @admin.action(
        description="Accept the selected high-confidence decisions", permissions=["review"]
    )
    def bulk_accept(self, request: HttpRequest, queryset: QuerySet[Decision]) -> None:
        threshold = conf.review_high_confidence()
        result = decisions_accept(
            decision_ids=list(queryset.values_list("pk", flat=True)),
            reviewer=request.user,
            min_confidence=threshold,
        )
        self.message_user(request, f"Accepted {result.accepted} decision(s).", messages.SUCCESS)
        if result.already:
            self.message_user(request, f"{result.already} you had labeled already were skipped.")
        if result.too_low:
            self.message_user(
                request,
                f"Refused {result.too_low} decision(s) below {threshold:g} confidence or in "
                "error: review them one by one.",
                messages.WARNING,
            )


@admin.register(Label)
class LabelAdmin(ReadOnlyAdmin):
    list_display = ("id", "decision_link", "verdict", "source", "reviewer", "created_at")
    list_filter = ("verdict", "source", "decision__workload")
    list_select_related = ("decision", "reviewer")
    search_fields = ("decision__subject_id",)
    show_full_result_count = False

    @admin.display(description="Decision", ordering="decision")
    def decision_link(self, obj: Label) -> str:
        url = reverse("admin:flywheel_decision_change", args=[obj.decision_id])
        return format_html('<a href="{}">{}</a>', url, obj.decision)
