"""What the app keeps about the Salesforce stream: the inbox of change events, replay positions,
dead letters, the listener lease and heartbeat, and API usage."""

from __future__ import annotations

from django.db import models


class ChangeEvent(models.Model):
    """One change of one record, made durable before its replay id is stored (the inbox).

    CDC events that name several records are split into one row per record. ``fields`` holds the
    record's fields flattened the way the REST API shows them (``Name.LastName`` → ``LastName``,
    ``Address.Country`` → ``Country``). Rows from polling and reconciliation have the same shape.
    """

    class Source(models.TextChoices):
        CDC = "cdc", "Change Data Capture"
        POLL = "poll", "Polling"
        RECONCILE = "reconcile", "Reconciliation"

    entity = models.CharField(max_length=40)
    change_type = models.CharField(max_length=20)
    record_id = models.CharField(max_length=18)
    fields = models.JSONField(default=dict)
    changed_fields = models.JSONField(default=list)
    commit_timestamp = models.DateTimeField()
    commit_user = models.CharField(max_length=18, blank=True)
    change_origin = models.CharField(max_length=255, blank=True)
    is_own_write = models.BooleanField(
        default=False, help_text="Written by this app (changeOrigin client=flywheel)."
    )
    transaction_key = models.CharField(max_length=64, blank=True)
    replay_id = models.BigIntegerField(null=True, blank=True)
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.CDC)
    received_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    pending_workloads = models.PositiveSmallIntegerField(
        default=0,
        help_text="Workloads handed this event that have not finished it (one bit per task; "
        "see salesforce/sweep.py).",
    )
    reruns = models.PositiveSmallIntegerField(
        default=0, help_text="Times the sweep enqueued this event's unfinished work again."
    )

    class Meta:
        indexes = [
            models.Index(fields=["entity", "record_id"], name="salesforce_event_record_idx"),
            models.Index(fields=["dispatched_at"], name="salesforce_event_dispatch_idx"),
            models.Index(fields=["received_at"], name="salesforce_event_received_idx"),
            # Only the events with unfinished work: the sweep reads a small index every minute.
            models.Index(
                fields=["dispatched_at"],
                condition=models.Q(pending_workloads__gt=0),
                name="salesforce_event_pending_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["replay_id", "record_id", "source"],
                condition=models.Q(replay_id__isnull=False),
                name="%(app_label)s_%(class)s_unique_delivery",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.change_type} {self.record_id}"


class ReplayPosition(models.Model):
    """The last replay id (or polling watermark) whose events are durable, per channel."""

    channel = models.CharField(max_length=100, unique=True)
    replay_id = models.BigIntegerField(null=True, blank=True)
    watermark = models.DateTimeField(null=True, blank=True)
    commit_timestamp = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.channel} @ {self.replay_id}"


class DeadLetter(models.Model):
    """An item that could not be processed, kept with the reason so nothing is silently lost."""

    source = models.CharField(max_length=40)
    reason = models.TextField()
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="salesforce_deadletter_idx")]

    def __str__(self) -> str:
        return f"{self.source}: {self.reason[:60]}"


class ListenerLease(models.Model):
    """One row per org: who is the active listener, until when, and its heartbeat figures."""

    name = models.CharField(max_length=40, unique=True, default="default")
    holder = models.CharField(max_length=120, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    mode = models.CharField(max_length=12, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    last_replay_id = models.BigIntegerField(null=True, blank=True)
    events_per_min = models.FloatField(default=0)
    lag_seconds = models.FloatField(null=True, blank=True)
    notice = models.TextField(blank=True, help_text="Operator notice, e.g. a reconciliation ran.")

    def __str__(self) -> str:
        return f"{self.name}: {self.holder or 'free'}"


class ApiUsage(models.Model):
    """Salesforce API calls the app made, per hour, workload and endpoint."""

    hour = models.DateTimeField()
    workload = models.CharField(max_length=40)
    endpoint = models.CharField(max_length=40)
    calls = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "workload", "endpoint"],
                name="%(app_label)s_%(class)s_unique_bucket",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}h {self.workload}/{self.endpoint}: {self.calls}"


class OrgLimitSnapshot(models.Model):
    """The org's own API usage as reported by Sforce-Limit-Info, and the circuit breaker state."""

    name = models.CharField(max_length=40, unique=True, default="default")
    api_used = models.PositiveIntegerField(default=0)
    api_max = models.PositiveIntegerField(default=0)
    circuit_open_until = models.DateTimeField(null=True, blank=True)
    circuit_reason = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"API {self.api_used}/{self.api_max}"
