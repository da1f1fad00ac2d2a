from django.contrib import admin, messages
from django.utils import timezone

from salesforce.models import ApiUsage, ChangeEvent, DeadLetter, ListenerLease, ReplayPosition


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ChangeEvent)
class ChangeEventAdmin(ReadOnlyAdmin):
    list_display = (
        "received_at",
        "entity",
        "change_type",
        "record_id",
        "source",
        "is_own_write",
        "replay_id",
        "dispatched_at",
    )
    list_filter = ("entity", "change_type", "source", "is_own_write")
    search_fields = ("record_id",)
    date_hierarchy = "received_at"
    show_full_result_count = False


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    list_display = ("created_at", "source", "reason", "resolved_at")
    list_filter = ("source", ("resolved_at", admin.EmptyFieldListFilter))
    readonly_fields = ("created_at", "source", "reason", "payload")
    actions = ("mark_resolved", "retry_given_up_work")

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Mark selected dead letters as resolved")
    def mark_resolved(self, request, queryset) -> None:
        updated = queryset.filter(resolved_at__isnull=True).update(resolved_at=timezone.now())
        self.message_user(request, f"{updated} dead letter(s) marked as resolved.")

    @admin.action(
        description="Run the given-up work again (letters of source 'sweep')",
        permissions=("change",),
    )
    def retry_given_up_work(self, request, queryset) -> None:
        from salesforce.sweep import lost_work_retry

        selected = list(queryset.filter(resolved_at__isnull=True))
        letters, events = lost_work_retry(letters=selected, now=timezone.now())
        skipped = len(selected) - letters
        note = f"; {skipped} other letter(s) left as they are (only 'sweep' work reruns)"
        self.message_user(
            request,
            f"{letters} letter(s) resolved, {events} event(s) enqueued again"
            + (note if skipped else ""),
            messages.SUCCESS if letters else messages.WARNING,
        )


@admin.register(ReplayPosition)
class ReplayPositionAdmin(ReadOnlyAdmin):
    list_display = ("channel", "replay_id", "watermark", "commit_timestamp", "updated_at")


@admin.register(ListenerLease)
class ListenerLeaseAdmin(ReadOnlyAdmin):
    list_display = (
        "name",
        "holder",
        "mode",
        "heartbeat_at",
        "last_event_at",
        "events_per_min",
        "lag_seconds",
    )


@admin.register(ApiUsage)
class ApiUsageAdmin(ReadOnlyAdmin):
    list_display = ("hour", "workload", "endpoint", "calls", "errors")
    list_filter = ("workload", "endpoint")
