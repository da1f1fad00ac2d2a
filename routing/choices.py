"""Codes shared by the routing models, engine, outputs and CSV files."""

from __future__ import annotations

from django.db import models


class Segment(models.TextChoices):
    SMB = "SMB", "Small business"
    MM = "MM", "Mid-Market"
    ENT = "ENT", "Enterprise"


class Region(models.TextChoices):
    NA = "NA", "North America"
    EMEA = "EMEA", "Europe"
    APAC = "APAC", "Asia-Pacific"
    LATAM = "LATAM", "Latin America"
    MEA = "MEA", "Middle East and Africa"


UNKNOWN = "UNKNOWN"
SEGMENT_CODES = (*Segment.values, UNKNOWN)
REGION_CODES = (*Region.values, UNKNOWN)


class Distribution(models.TextChoices):
    ROUND_ROBIN = "round_robin", "Round robin"
    WEIGHTED = "weighted", "Weighted round robin"
    CAPACITY = "capacity", "Capacity-capped (fewest open leads first)"


class PolicyStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"


class ConditionOp(models.TextChoices):
    EQUALS = "eq", "equals"
    IN = "in", "is one of"
    CONTAINS = "contains", "contains"
    GTE = "gte", "at least"
    LTE = "lte", "at most"
    BLANK = "blank", "is blank"


class AssignmentStatus(models.TextChoices):
    PENDING = "pending", "Pending write"
    WRITTEN = "written", "Owner written"
    FAILED = "failed", "Write failed (retried)"
    RESPECTED = "respected", "Human owner kept"
    OVERRIDDEN = "overridden", "Reassigned by a human"
