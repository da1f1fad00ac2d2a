"""Choices of the learning loop (kept apart from flywheel.choices, which the gateway rows use)."""

from __future__ import annotations

from django.db import models


class ModelMode(models.TextChoices):
    OFF = "off", "Off"
    SHADOW = "shadow", "Shadow (logged beside the champion, never acted on)"
    AB = "ab", "A/B (decides a share of subjects)"
    CHAMPION = "champion", "Champion (replaces the LLM)"


CHALLENGER_MODES = (ModelMode.SHADOW, ModelMode.AB)

# Workloads a local model can serve (flywheel.learning.specs has one spec per name; kept here so
# that serving can answer "no model" without importing scikit-learn).
LEARNING_WORKLOADS = ("templates", "routing")
