"""TTFR writes. ``lead_fact_assignment_record`` is what routing calls when it assigns a lead."""

from ttfr.services.facts import lead_fact_assignment_record

__all__ = ["lead_fact_assignment_record"]
