"""Template settings (read through here so defaults live in one place)."""

from __future__ import annotations

from django.conf import settings


def create_tasks() -> bool:
    """Create an open Task with the rendered draft for the lead owner in Salesforce."""
    return bool(getattr(settings, "TEMPLATES_CREATE_TASKS", False))


def sender_type() -> str:
    return getattr(settings, "TEMPLATES_SENDER_TYPE", "CurrentUser")


def sender_address() -> str:
    return getattr(settings, "TEMPLATES_SENDER_ADDRESS", "")
