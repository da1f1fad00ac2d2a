"""Choices shared by the flywheel models, services and admin."""

from __future__ import annotations

from django.db import models

# Mode changes of local models are recorded as decisions of this workload (an audit trail, not
# something to review or train on).
AUDIT_WORKLOAD = "learning.modes"


class Decider(models.TextChoices):
    RULES = "rules", "Rules"
    LLM = "llm", "LLM"
    MODEL = "model", "Local model"
    FALLBACK = "fallback", "Rules (fallback)"
    HUMAN = "human", "Human (audited action)"


class DecisionStatus(models.TextChoices):
    OK = "ok", "OK"
    FALLBACK = "fallback", "Fallback"
    ERROR = "error", "Error"


class Verdict(models.TextChoices):
    CORRECT = "correct", "Correct"
    INCORRECT = "incorrect", "Incorrect"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued (waiting for a worker)"
    RUNNING = "running", "Being prepared"
    DONE = "done", "Ready"
    FAILED = "failed", "Failed"


class LabelSource(models.TextChoices):
    HUMAN = "human", "Human review"
    IMPLICIT = "implicit", "Implicit (Salesforce)"
