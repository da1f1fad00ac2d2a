"""Routing settings, read from Django settings with defaults (listed in the README)."""

from __future__ import annotations

from django.conf import settings


def integration_user_id() -> str:
    """The Salesforce user the app writes as (its owner changes are not human overrides)."""
    from salesforce.conf import integration_user_id as configured_or_login

    return configured_or_login()


def capacity_window_days() -> int:
    """Open leads per rep are assignments of the last N days still owned by that rep."""
    return int(getattr(settings, "ROUTING_CAPACITY_WINDOW_DAYS", 7))


def write_batch_size() -> int:
    return min(200, int(getattr(settings, "ROUTING_WRITE_BATCH", 200)))


def max_write_attempts() -> int:
    """A lead whose owner write failed this many times is left FAILED for an operator."""
    return int(getattr(settings, "ROUTING_MAX_WRITE_ATTEMPTS", 5))
