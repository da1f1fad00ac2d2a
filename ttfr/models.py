"""Facts about each lead's first response (read by analytics), SLA breaches and backfill runs."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models


class LeadFact(models.Model):
    """One row per lead: when it came in, who got it, when and by whom it was first answered.

    Minutes are floats with two decimals. ``assignment_delay_minutes`` (created → assigned) is the
    system's delay; ``human_delay_minutes`` (assigned → first response, 0 when a rep answered
    before the assignment was recorded) is the rep's.
    """

    lead_id = models.CharField(max_length=18, unique=True)
    created_at = models.DateTimeField(null=True, blank=True)
    lead_source = models.CharField(max_length=40, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    owner_id = models.CharField(max_length=18, blank=True, help_text="Owner at assignment.")
    team = models.CharField(max_length=8, blank=True, help_text="Owner's team at assignment.")
    segment = models.CharField(max_length=8, blank=True)
    region = models.CharField(max_length=8, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    responder_id = models.CharField(max_length=18, blank=True)
    first_response_touch_id = models.CharField(max_length=18, blank=True)
    ttfr_minutes = models.FloatField(null=True, blank=True)
    business_minutes = models.FloatField(null=True, blank=True)
    first_automated_at = models.DateTimeField(null=True, blank=True)
    automated_user_id = models.CharField(max_length=18, blank=True)
    automated_touch_id = models.CharField(max_length=18, blank=True)
    assignment_delay_minutes = models.FloatField(null=True, blank=True)
    human_delay_minutes = models.FloatField(null=True, blank=True)
    sla_minutes = models.PositiveIntegerField(null=True, blank=True)
    sla_breached = models.BooleanField(default=False, help_text="Business minutes over the SLA.")
    sla_breached_raw = models.BooleanField(default=False, help_text="Raw minutes over the SLA.")
    is_converted = models.BooleanField(default=False)
    is_deleted = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["created_at"], name="ttfr_fact_created_idx"),
            models.Index(fields=["team", "created_at"], name="ttfr_fact_team_idx"),
            models.Index(fields=["segment", "created_at"], name="ttfr_fact_segment_idx"),
            models.Index(fields=["region", "created_at"], name="ttfr_fact_region_idx"),
            models.Index(fields=["owner_id", "created_at"], name="ttfr_fact_owner_idx"),
            models.Index(fields=["responder_id", "created_at"], name="ttfr_fact_responder_idx"),
            models.Index(fields=["sla_breached", "created_at"], name="ttfr_fact_breach_idx"),
            models.Index(fields=["first_response_touch_id"], name="ttfr_fact_touch_idx"),
            models.Index(fields=["automated_touch_id"], name="ttfr_fact_auto_touch_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.ttfr_minutes} min"

    def clean(self) -> None:
        if self.first_response_at and self.created_at and self.first_response_at < self.created_at:
            raise ValidationError({"first_response_at": "A first response precedes its lead."})


class SlaBreach(models.Model):
    """A lead not answered within its SLA, and what the app did about it (shown on the dashboard)."""

    lead_id = models.CharField(max_length=18, unique=True)
    owner_id = models.CharField(max_length=18, blank=True)
    team = models.CharField(max_length=8, blank=True)
    segment = models.CharField(max_length=8, blank=True)
    sla_minutes = models.PositiveIntegerField()
    business_minutes = models.FloatField(help_text="Business minutes elapsed when detected.")
    detected_at = models.DateTimeField()
    actions = models.JSONField(default=list, blank=True, help_text="notify / reassign")
    new_owner_id = models.CharField(max_length=18, blank=True)
    notified_to = models.CharField(
        max_length=254, blank=True, help_text="The owner's manager the breach was emailed to."
    )
    decision_id = models.BigIntegerField(null=True, blank=True)
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = "SLA breach"
        verbose_name_plural = "SLA breaches"
        indexes = [models.Index(fields=["detected_at"], name="ttfr_breach_detected_idx")]

    def __str__(self) -> str:
        return f"{self.lead_id} breached {self.sla_minutes} min"


class BackfillCheckpoint(models.Model):
    """Where a backfill run got to, so an interrupted run resumes instead of starting over."""

    since = models.DateField(unique=True)
    last_created_at = models.DateTimeField(null=True, blank=True)
    last_lead_id = models.CharField(max_length=18, blank=True)
    leads_scanned = models.PositiveIntegerField(default=0)
    leads_updated = models.PositiveIntegerField(default=0)
    leads_unchanged = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        state = "done" if self.finished_at else f"at {self.last_created_at}"
        return f"backfill since {self.since}: {state}"
