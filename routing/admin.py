"""Ops edit routing policy drafts here; published versions are read-only; publish, draft, roll
back and simulate are admin actions. Validation errors are shown, never saved."""

from __future__ import annotations

import datetime as dt

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from routing.engine.policy import compile_snapshot
from routing.models import (
    Assignment,
    CountryAlias,
    OverrideRule,
    OwnerPool,
    PoolMember,
    RegionCountry,
    Rep,
    RoutingPolicy,
    SegmentRule,
)
from routing.selectors import (
    NoActivePolicy,
    policy_active_get,
    recent_lead_fields,
    rep_hours_map,
)
from routing.services.policy import (
    PolicyImmutable,
    PolicyInvalid,
    policy_draft_create,
    policy_errors,
    policy_publish,
    policy_rollback,
    policy_snapshot_build,
)
from routing.services.simulate import leads_simulate, runs_compare, simulation_csv
from routing.services.writes import owners_retry

SIMULATION_COLUMNS = ["Id", "Company", "NumberOfEmployees", "Country", "Industry", "LeadSource"]


class DraftOnlyMixin:
    """Rows belonging to a published policy are read-only; new rows only go into drafts."""

    def _policy_of(self, obj: object) -> RoutingPolicy | None:
        return obj if isinstance(obj, RoutingPolicy) else getattr(obj, "policy", None)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        policy = self._policy_of(obj)
        if policy is not None and policy.is_published:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        policy = self._policy_of(obj)
        if policy is not None and policy.is_published:
            return False
        return super().has_delete_permission(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "policy":
            kwargs["queryset"] = RoutingPolicy.objects.filter(status="draft")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class DraftInline(DraftOnlyMixin, admin.TabularInline):
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        policy = self._policy_of(obj)
        if policy is not None and policy.is_published:
            return False
        return super().has_add_permission(request, obj)


class SegmentInline(DraftInline):
    model = SegmentRule


class OverrideInline(DraftInline):
    model = OverrideRule


class AliasInline(DraftInline):
    model = CountryAlias
    classes = ("collapse",)


@admin.register(RoutingPolicy)
class RoutingPolicyAdmin(DraftOnlyMixin, admin.ModelAdmin):
    list_display = ("__str__", "status", "is_active", "note", "published_at", "published_by")
    list_filter = ("status", "is_active")
    readonly_fields = (
        "version",
        "status",
        "is_active",
        "based_on",
        "published_at",
        "published_by",
        "simulate",
    )
    inlines = (SegmentInline, OverrideInline, AliasInline)
    actions = ("publish", "copy_to_draft", "roll_back")

    @admin.display(description="Simulation")
    def simulate(self, obj: RoutingPolicy) -> str:
        if obj.pk is None:
            return "Save the draft first."
        url = reverse("admin:routing_policy_simulate", args=[obj.pk])
        return format_html('<a href="{}?days=7">Simulate on the last 7 days of leads</a>', url)

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(self.simulate_view)
        return [
            path("<int:pk>/simulate/", view, name="routing_policy_simulate"),
            *super().get_urls(),
        ]

    @admin.action(
        description="Publish the selected draft (validates first)", permissions=["change"]
    )
    def publish(self, request: HttpRequest, queryset: QuerySet) -> None:
        for policy in queryset:
            try:
                published = policy_publish(policy=policy, by=request.user.get_username())
            except PolicyInvalid as error:
                for problem in error.messages:
                    self.message_user(request, f"{policy}: {problem}", messages.ERROR)
            except PolicyImmutable as error:
                self.message_user(request, str(error), messages.WARNING)
            else:
                self.message_user(request, f"Published {published}.", messages.SUCCESS)

    @admin.action(description="Copy into a new draft to edit", permissions=["add"])
    def copy_to_draft(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        drafts = [policy_draft_create(source=policy) for policy in queryset]
        self.message_user(request, f"Created {', '.join(map(str, drafts))}.", messages.SUCCESS)
        if len(drafts) == 1:
            return redirect("admin:routing_routingpolicy_change", drafts[0].pk)
        return None

    @admin.action(description="Roll back to the selected published version", permissions=["change"])
    def roll_back(self, request: HttpRequest, queryset: QuerySet) -> None:
        chosen = [p for p in queryset if p.is_published]
        if len(chosen) != 1:
            self.message_user(request, "Select exactly one published version.", messages.ERROR)
            return
        restored = policy_rollback(version=chosen[0].version, by=request.user.get_username())
        self.message_user(request, f"{restored} republishes version {chosen[0].version}.")

    def simulate_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        policy = get_object_or_404(RoutingPolicy, pk=pk)
        days = max(1, min(int(request.GET.get("days") or 7), 90))
        now = timezone.now()
        leads = recent_lead_fields(since=now - dt.timedelta(days=days))
        if not policy.is_published:
            problems = policy_errors(policy=policy)
            if problems:
                for problem in problems:
                    self.message_user(request, f"Cannot simulate: {problem}", messages.ERROR)
                return redirect("admin:routing_routingpolicy_change", policy.pk)
        compiled = compile_snapshot(policy.snapshot or policy_snapshot_build(policy=policy))
        reps = rep_hours_map()
        after = leads_simulate(leads=leads, policy=compiled, reps=reps, open_leads={}, now=now)
        if request.GET.get("format") == "csv":
            body = simulation_csv(
                simulated=after, policy=compiled, input_columns=SIMULATION_COLUMNS
            )
            response = HttpResponse(body, content_type="text/csv")
            response["Content-Disposition"] = f'attachment; filename="simulation-{pk}.csv"'
            return response
        summary = []
        try:
            active = policy_active_get()
        except NoActivePolicy:
            active = None
        if active is not None:
            current = compile_snapshot(active.snapshot)
            before = leads_simulate(leads=leads, policy=current, reps=reps, open_leads={}, now=now)
            summary = runs_compare(before=before, after=after).lines(
                before=str(active), after=str(policy), label=compiled.owner_label
            )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Simulate {policy} on the last {days} days of leads",
            "policy": policy,
            "days": days,
            "rows": [item.row(compiled) | {"fields": item.fields} for item in after[:200]],
            "total": len(after),
            "summary": summary,
            "csv_url": reverse("admin:routing_policy_simulate", args=[pk])
            + f"?days={days}&format=csv",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/routing/simulate.html", context)


class MemberInline(DraftInline):
    model = PoolMember
    autocomplete_fields = ("rep",)


@admin.register(OwnerPool)
class OwnerPoolAdmin(DraftOnlyMixin, admin.ModelAdmin):
    list_display = ("name", "policy", "segment", "region", "distribution", "queue_name", "capacity")
    list_filter = ("policy", "segment", "region", "distribution")
    list_select_related = ("policy",)
    inlines = (MemberInline,)


@admin.register(RegionCountry)
class RegionCountryAdmin(DraftOnlyMixin, admin.ModelAdmin):
    list_display = ("country_code", "region", "policy")
    list_filter = ("policy", "region")
    list_select_related = ("policy",)
    search_fields = ("country_code",)


@admin.register(CountryAlias)
class CountryAliasAdmin(DraftOnlyMixin, admin.ModelAdmin):
    list_display = ("alias", "country_code", "policy")
    list_filter = ("policy",)
    list_select_related = ("policy",)
    search_fields = ("alias", "country_code")


@admin.register(SegmentRule)
class SegmentRuleAdmin(DraftOnlyMixin, admin.ModelAdmin):
    list_display = ("code", "min_employees", "max_employees", "policy")
    list_filter = ("policy",)


@admin.register(OverrideRule)
class OverrideRuleAdmin(DraftOnlyMixin, admin.ModelAdmin):
    list_display = ("position", "name", "set_segment", "set_pool", "set_priority", "policy")
    list_filter = ("policy",)


@admin.register(Rep)
class RepAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "user_id",
        "team",
        "time_zone",
        "work_start",
        "work_end",
        "out_of_office",
    )
    list_editable = ("out_of_office",)
    list_filter = ("team", "out_of_office", "is_active")
    search_fields = ("name", "user_id")


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = (
        "lead_id",
        "decision",
        "status",
        "segment",
        "region",
        "pool",
        "owner_id",
        "current_owner_id",
        "policy_version",
        "attempts",
        "created_at",
    )
    list_filter = ("status", "segment", "region", "priority", "policy_version")
    search_fields = ("lead_id", "owner_id", "current_owner_id")
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ("retry_write",)

    @admin.action(description="Retry the owner write of the selected failed leads")
    def retry_write(self, request: HttpRequest, queryset: QuerySet) -> None:
        from salesforce.client import get_client

        lead_ids = list(queryset.filter(status="failed").values_list("lead_id", flat=True))
        written = owners_retry(
            lead_ids=lead_ids, client=get_client(workload="routing"), now=timezone.now()
        )
        level = messages.SUCCESS if written == len(lead_ids) else messages.WARNING
        self.message_user(request, f"{written} of {len(lead_ids)} owner(s) written.", level)

    @admin.display(description="Decision")
    def decision(self, obj: Assignment) -> str:
        if obj.decision_id is None:
            return "-"
        try:
            url = reverse("admin:flywheel_decision_change", args=[obj.decision_id])
        except NoReverseMatch:  # the flywheel admin does not list decisions
            return f"#{obj.decision_id}"
        return format_html('<a href="{}">#{}</a>', url, obj.decision_id)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
