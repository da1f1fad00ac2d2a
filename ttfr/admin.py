"""Read-only admin views of the TTFR facts, SLA breaches and backfill checkpoints."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from ttfr.models import BackfillCheckpoint, LeadFact, SlaBreach


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False  # no COUNT(*) over a million facts on every page

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(LeadFact)
class LeadFactAdmin(ReadOnlyAdmin):
    list_display = (
        "lead_id",
        "created_at",
        "team",
        "segment",
        "owner_id",
        "responder_id",
        "ttfr_minutes",
        "business_minutes",
        "sla_breached",
    )
    list_filter = ("team", "segment", "region", "sla_breached", "is_deleted")
    search_fields = ("=lead_id", "=owner_id", "=responder_id")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)


@admin.register(SlaBreach)
class SlaBreachAdmin(ReadOnlyAdmin):
    list_display = (
        "lead_id",
        "detected_at",
        "team",
        "owner_id",
        "new_owner_id",
        "notified_to",
        "sla_minutes",
    )
    list_filter = ("team", "segment")
    search_fields = ("=lead_id", "=owner_id")
    ordering = ("-detected_at",)


@admin.register(BackfillCheckpoint)
class BackfillCheckpointAdmin(ReadOnlyAdmin):
    list_display = (
        "since",
        "leads_scanned",
        "leads_updated",
        "leads_unchanged",
        "api_calls",
        "started_at",
        "finished_at",
    )
