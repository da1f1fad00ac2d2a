"""Decision rows (one per automated choice, append-only) and the labels reviewers give them."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from flywheel.choices import Decider, DecisionStatus, ExportStatus, LabelSource, Verdict
from flywheel.learning.choices import CHALLENGER_MODES, ModelMode


class Decision(models.Model):
    """One automated choice: what was asked, who decided, what came out and what it led to.

    Rows are written once by ``flywheel.gateway``; only ``effect``/``effect_at`` may be set later,
    once, by ``flywheel.services.decision_effect_record``.
    """

    workload = models.CharField(max_length=40)
    subject_id = models.CharField(max_length=64, blank=True, help_text="Salesforce record id.")
    decider = models.CharField(max_length=16, choices=Decider.choices)
    model_name = models.CharField(max_length=100, blank=True)
    prompt_version = models.CharField(max_length=64)
    policy_version = models.PositiveIntegerField(null=True, blank=True)
    context = models.JSONField(default=dict, blank=True, help_text="Facts the deciders read.")
    conversation = models.JSONField(
        default=dict, help_text='OpenAI chat format: {"messages": [system, user, assistant]}.'
    )
    output = models.JSONField(default=dict)
    output_schema = models.JSONField(default=dict)
    confidence = models.FloatField(default=0.0)
    explanation = models.TextField(blank=True)
    status = models.CharField(
        max_length=16, choices=DecisionStatus.choices, default=DecisionStatus.OK
    )
    reason = models.CharField(max_length=500, blank=True, help_text="Why a fallback or error.")
    latency_ms = models.FloatField(default=0.0)
    input_tokens = models.PositiveIntegerField(null=True, blank=True)
    output_tokens = models.PositiveIntegerField(null=True, blank=True)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    effect = models.JSONField(null=True, blank=True, help_text="What it led to in Salesforce.")
    effect_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=("workload", "created_at"), name="flywheel_decision_wl_created"),
            models.Index(fields=("subject_id",), name="flywheel_decision_subject"),
            models.Index(fields=("decider", "created_at"), name="flywheel_decision_decider"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(confidence__gte=0) & models.Q(confidence__lte=1),
                name="%(app_label)s_%(class)s_confidence_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workload} #{self.pk} ({self.subject_id or 'no subject'})"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise ValidationError("Decisions are append-only; record effects through services.")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValidationError("Decisions are append-only and cannot be deleted.")


class Label(models.Model):
    """A verdict on a decision, from a reviewer or implied by what a human did in Salesforce."""

    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, related_name="labels")
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    corrected_output = models.JSONField(null=True, blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="flywheel_labels",
    )
    source = models.CharField(max_length=16, choices=LabelSource.choices)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=("decision", "created_at"), name="flywheel_label_decision")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(verdict=Verdict.CORRECT)
                | models.Q(corrected_output__isnull=True),
                name="%(app_label)s_%(class)s_correct_has_no_correction",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_verdict_display()} on decision #{self.decision_id}"

    def clean(self) -> None:
        if self.verdict == Verdict.CORRECT and self.corrected_output is not None:
            raise ValidationError(
                {"corrected_output": "A 'correct' verdict keeps the decision's own output."}
            )


class ModelVersion(models.Model):
    """A trained local model for one workload: its artifact on disk, metrics and serving mode.

    Modes change only through ``flywheel.learning.services.model_version_mode_set``; a workload has
    at most one champion and at most one challenger (shadow or A/B) at a time.
    """

    workload = models.CharField(max_length=40)
    version = models.PositiveIntegerField()
    algorithm = models.CharField(max_length=200)
    artifact_path = models.CharField(
        max_length=500, help_text="Relative to FLYWHEEL_MODEL_DIR (default var/models/)."
    )
    sha256 = models.CharField(max_length=64, help_text="Checked every time the artifact loads.")
    metrics = models.JSONField(default=dict, blank=True)
    training_set = models.JSONField(
        default=dict, blank=True, help_text="Decision ids and counts the model was trained on."
    )
    mode = models.CharField(max_length=16, choices=ModelMode.choices, default=ModelMode.OFF)
    ab_share = models.FloatField(
        default=0.1, help_text="Share of subjects the model decides in A/B mode (0 to 1)."
    )
    history = models.JSONField(default=list, blank=True, help_text="Mode changes: when, who.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("workload", "-version")
        constraints = [
            models.UniqueConstraint(
                fields=("workload", "version"), name="%(app_label)s_%(class)s_unique_version"
            ),
            models.UniqueConstraint(
                fields=("workload",),
                condition=models.Q(mode=ModelMode.CHAMPION),
                name="%(app_label)s_%(class)s_one_champion",
            ),
            models.UniqueConstraint(
                fields=("workload",),
                condition=models.Q(mode__in=CHALLENGER_MODES),
                name="%(app_label)s_%(class)s_one_challenger",
            ),
            models.CheckConstraint(
                condition=models.Q(ab_share__gte=0) & models.Q(ab_share__lte=1),
                name="%(app_label)s_%(class)s_ab_share_range",
            ),
            models.CheckConstraint(
                condition=models.Q(mode__in=ModelMode.values),
                name="%(app_label)s_%(class)s_mode_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workload} v{self.version} ({self.get_mode_display()})"

    @property
    def name(self) -> str:
        """How decisions name this model (``Decision.model_name``)."""
        return f"local:{self.workload}:v{self.version}"

    def clean(self) -> None:
        if not 0 <= self.ab_share <= 1:
            raise ValidationError({"ab_share": "A share between 0 and 1."})


class ExportJob(models.Model):
    """An export too large to build while the browser waits: a worker writes the zip under
    FLYWHEEL_EXPORT_DIR (default var/exports/); only the user who asked may download it."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    options = models.JSONField(default=dict, help_text="The export form's choices.")
    decisions = models.PositiveIntegerField(default=0, help_text="Decisions matched when asked.")
    status = models.CharField(
        max_length=16, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    file_name = models.CharField(max_length=200, blank=True, help_text="In FLYWHEEL_EXPORT_DIR.")
    summary = models.TextField(blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"export #{self.pk} ({self.get_status_display()})"
