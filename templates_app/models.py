from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from flywheel_site.config_files import nul_location
from templates_app.choices import Intent, SuggestionStatus
from templates_app.rendering import template_problems


class EmailTemplate(models.Model):
    """A reply template ops staff edit in the admin; one intent each."""

    name = models.SlugField(max_length=60, unique=True)
    intent = models.CharField(max_length=20, choices=Intent.choices)
    language = models.CharField(max_length=8, default="en")
    subject = models.CharField(max_length=200)
    body = models.TextField()
    keywords = models.JSONField(
        default=list,
        blank=True,
        help_text="Words and phrases that point to this intent (any language).",
    )
    active = models.BooleanField(default=True)
    auto_send = models.BooleanField(
        default=False,
        help_text="Send automatically when the intent is detected confidently enough.",
    )
    auto_send_threshold = models.FloatField(
        default=0.8, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("intent", "name")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(auto_send_threshold__gte=0)
                & models.Q(auto_send_threshold__lte=1),
                name="%(app_label)s_%(class)s_threshold_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.intent})"

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        for field in ("subject", "body"):
            problems = template_problems(getattr(self, field) or "")
            if problems:
                errors[field] = problems
        if not isinstance(self.keywords, list) or not all(
            isinstance(k, str) for k in self.keywords
        ):
            errors["keywords"] = ['Keywords must be a list of strings, e.g. ["price", "quote"].']
        for field in ("name", "subject", "body", "keywords"):
            if nul_location(getattr(self, field)) is not None:
                errors.setdefault(field, []).append("Remove the NUL character (\\u0000).")
        if errors:
            raise ValidationError(errors)


class TemplateSuggestion(models.Model):
    """The reply suggested for one lead (one per lead: re-delivered events change nothing)."""

    lead_id = models.CharField(max_length=18, unique=True)
    owner_id = models.CharField(max_length=18, blank=True)
    template = models.ForeignKey(EmailTemplate, null=True, on_delete=models.SET_NULL)
    decision_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    intent = models.CharField(max_length=20, choices=Intent.choices)
    confidence = models.FloatField()
    decided_by = models.CharField(max_length=20)
    reason = models.TextField(blank=True)
    lead_name = models.CharField(max_length=255, blank=True)
    company = models.CharField(max_length=255, blank=True)
    email = models.CharField(max_length=255, blank=True)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    status = models.CharField(
        max_length=20, choices=SuggestionStatus.choices, default=SuggestionStatus.SUGGESTED
    )
    send_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    rep_template = models.ForeignKey(
        EmailTemplate,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The template the owner's own first email matched (empty: none seen or none "
        "matched).",
    )
    rep_email_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at",)
        indexes = [
            models.Index(fields=["owner_id", "-created_at"], name="templates_sugg_owner_idx"),
            models.Index(fields=["created_at"], name="templates_sugg_created_idx"),
            models.Index(fields=["intent"], name="templates_sugg_intent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.intent}"
