"""TTFR writes. ``lead_fact_assignment_record`` is what routing calls when it assigns a lead."""

from ttfr.services.facts import (
    AssignmentIn,
    lead_fact_assignment_record,
    lead_facts_assignments_record,
)

__all__ = [
    "AssignmentIn",
    "lead_fact_assignment_record",
    "lead_facts_assignments_record",
]
