"""Routing policy as rows Ops edit in the admin, versioned; reps; and the assignment ledger.

A policy is a draft until it is published: publishing validates it, stamps the next version
number and stores an immutable JSON snapshot that the engine reads. Rows of a published policy
are never edited again (the admin shows them read-only); a new draft is a copy.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db import models

from routing.choices import (
    AssignmentStatus,
    ConditionOp,
    Distribution,
    PolicyStatus,
    Region,
    Segment,
)
from routing.countries import normalize

_USER_ID = re.compile(r"^005[0-9A-Za-z]{12}([0-9A-Za-z]{3})?$")
_QUEUE_ID = re.compile(r"^00G[0-9A-Za-z]{12}([0-9A-Za-z]{3})?$")
_ISO2 = re.compile(r"^[A-Z]{2}$")
WEEKDAYS = [0, 1, 2, 3, 4]


def _default_work_days() -> list[int]:
    return list(WEEKDAYS)


class RoutingPolicy(models.Model):
    version = models.PositiveIntegerField(null=True, blank=True, unique=True, editable=False)
    status = models.CharField(
        max_length=10, choices=PolicyStatus.choices, default=PolicyStatus.DRAFT, editable=False
    )
    is_active = models.BooleanField(default=False, editable=False)
    note = models.CharField(max_length=200, blank=True)
    fallback_queue_id = models.CharField(
        max_length=18, blank=True, help_text="Queue (00G…) for leads nothing else matches."
    )
    fallback_queue_name = models.CharField(max_length=80, blank=True)
    based_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, editable=False
    )
    snapshot = models.JSONField(null=True, blank=True, editable=False)
    content_hash = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    published_by = models.CharField(max_length=150, blank=True, editable=False)

    class Meta:
        verbose_name_plural = "routing policies"
        ordering = ["-version", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="%(app_label)s_%(class)s_one_active",
            ),
        ]

    def __str__(self) -> str:
        if self.version is None:
            return f"Draft #{self.pk}"
        return f"Version {self.version}" + (" (active)" if self.is_active else "")

    @property
    def is_published(self) -> bool:
        return self.status == PolicyStatus.PUBLISHED

    def clean(self) -> None:
        if self.fallback_queue_id and not _QUEUE_ID.match(self.fallback_queue_id):
            raise ValidationError({"fallback_queue_id": "A queue id starts with 00G."})


class SegmentRule(models.Model):
    policy = models.ForeignKey(RoutingPolicy, on_delete=models.CASCADE, related_name="segments")
    code = models.CharField(max_length=5, choices=Segment.choices)
    min_employees = models.PositiveIntegerField()
    max_employees = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty means no upper bound."
    )

    class Meta:
        ordering = ["min_employees"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "code"], name="%(app_label)s_%(class)s_unique_code"
            ),
        ]

    def __str__(self) -> str:
        upper = "" if self.max_employees is None else str(self.max_employees)
        return f"{self.code} {self.min_employees}-{upper}"

    def clean(self) -> None:
        if self.max_employees is not None and self.max_employees < self.min_employees:
            raise ValidationError({"max_employees": "The upper bound is below the lower bound."})


class RegionCountry(models.Model):
    policy = models.ForeignKey(RoutingPolicy, on_delete=models.CASCADE, related_name="countries")
    country_code = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, e.g. DE.")
    region = models.CharField(max_length=5, choices=Region.choices)

    class Meta:
        ordering = ["country_code"]
        verbose_name_plural = "region countries"
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "country_code"], name="%(app_label)s_%(class)s_unique_country"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.country_code} → {self.region}"

    def clean(self) -> None:
        if not _ISO2.match(self.country_code or ""):
            raise ValidationError({"country_code": "Two capital letters (ISO-2), e.g. DE."})


class CountryAlias(models.Model):
    policy = models.ForeignKey(RoutingPolicy, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=80)
    country_code = models.CharField(max_length=2)

    class Meta:
        ordering = ["alias"]
        verbose_name_plural = "country aliases"
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "alias"], name="%(app_label)s_%(class)s_unique_alias"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.alias} = {self.country_code}"

    def clean(self) -> None:
        if not normalize(self.alias or ""):
            raise ValidationError({"alias": "An alias needs at least one letter or digit."})
        if not _ISO2.match(self.country_code or ""):
            raise ValidationError({"country_code": "Two capital letters (ISO-2), e.g. DE."})


class Rep(models.Model):
    """A Salesforce user who can own leads: availability is live, not versioned with policies."""

    user_id = models.CharField(max_length=18, unique=True)
    name = models.CharField(max_length=120)
    team = models.CharField(max_length=5, choices=Region.choices, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    work_start = models.TimeField(default=dt.time(8, 0))
    work_end = models.TimeField(default=dt.time(18, 0))
    work_days = models.JSONField(
        default=_default_work_days, help_text="Weekdays worked, 0 = Monday … 6 = Sunday."
    )
    out_of_office = models.BooleanField(default=False)
    out_of_office_until = models.DateTimeField(
        null=True, blank=True, help_text="Optional end of the absence (empty: until unticked)."
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["team", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.user_id})"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if not _USER_ID.match(self.user_id or ""):
            errors["user_id"] = "A user id starts with 005."
        if self.work_start and self.work_end and self.work_end <= self.work_start:
            errors["work_end"] = "The working day must end after it starts."
        days = self.work_days
        if not isinstance(days, list) or any(d not in range(7) for d in days):
            errors["work_days"] = "A list of weekday numbers 0-6."
        try:
            ZoneInfo(self.time_zone)
        except (ValueError, ZoneInfoNotFoundError):
            errors["time_zone"] = "An IANA time zone such as Europe/Berlin."
        if errors:
            raise ValidationError(errors)


class OwnerPool(models.Model):
    policy = models.ForeignKey(RoutingPolicy, on_delete=models.CASCADE, related_name="pools")
    name = models.CharField(max_length=80)
    segment = models.CharField(
        max_length=5, choices=Segment.choices, blank=True, help_text="Empty: override rules only."
    )
    region = models.CharField(max_length=5, choices=Region.choices, blank=True)
    distribution = models.CharField(
        max_length=12, choices=Distribution.choices, default=Distribution.ROUND_ROBIN
    )
    queue_id = models.CharField(
        max_length=18, blank=True, help_text="Queue (00G…) used when no member is available."
    )
    queue_name = models.CharField(max_length=80, blank=True)
    capacity = models.PositiveIntegerField(
        null=True, blank=True, help_text="Open leads per rep (capacity-capped pools)."
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "name"], name="%(app_label)s_%(class)s_unique_name"
            ),
            models.UniqueConstraint(
                fields=["policy", "segment", "region"],
                condition=~models.Q(segment="") & ~models.Q(region=""),
                name="%(app_label)s_%(class)s_unique_cell",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.queue_id and not _QUEUE_ID.match(self.queue_id):
            errors["queue_id"] = "A queue id starts with 00G."
        if bool(self.segment) != bool(self.region):
            errors["region"] = "Set both segment and region, or neither (override-only pool)."
        if self.distribution == Distribution.CAPACITY and not self.capacity:
            errors["capacity"] = "A capacity-capped pool needs a capacity."
        if errors:
            raise ValidationError(errors)


class PoolMember(models.Model):
    pool = models.ForeignKey(OwnerPool, on_delete=models.CASCADE, related_name="members")
    rep = models.ForeignKey(Rep, on_delete=models.PROTECT, related_name="memberships")
    weight = models.PositiveSmallIntegerField(default=1)
    capacity = models.PositiveIntegerField(
        null=True, blank=True, help_text="Overrides the pool's capacity for this rep."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["pool", "rep"], name="%(app_label)s_%(class)s_unique_rep"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rep} in {self.pool}"

    def clean(self) -> None:
        if self.weight < 1:
            raise ValidationError({"weight": "The weight must be at least 1."})


class OverrideRule(models.Model):
    """Conditions (all must hold) on lead fields → segment, pool and/or priority, in order."""

    policy = models.ForeignKey(RoutingPolicy, on_delete=models.CASCADE, related_name="overrides")
    position = models.PositiveIntegerField(default=10)
    name = models.CharField(max_length=80)
    conditions = models.JSONField(
        default=list,
        help_text='All must hold, e.g. [{"field": "Industry", "op": "in", '
        '"value": ["Banking", "Insurance"]}]. Ops: ' + ", ".join(ConditionOp.values) + ".",
    )
    set_segment = models.CharField(max_length=5, choices=Segment.choices, blank=True)
    set_pool = models.CharField(max_length=80, blank=True, help_text="Name of a pool.")
    set_priority = models.BooleanField(default=False)
    is_enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.position}. {self.name}"

    def clean(self) -> None:
        from routing.engine.overrides import conditions_errors

        problems = conditions_errors(self.conditions)
        if problems:
            raise ValidationError({"conditions": problems})
        if not (self.set_segment or self.set_pool or self.set_priority):
            raise ValidationError("A rule must set a segment, a pool or the priority flag.")


class Assignment(models.Model):
    """The ledger that makes routing exactly-once: one row per lead, ever."""

    lead_id = models.CharField(max_length=18, unique=True)
    event_id = models.BigIntegerField(null=True, blank=True)
    decision_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    policy_version = models.PositiveIntegerField(null=True, blank=True)
    segment = models.CharField(max_length=8, blank=True)
    region = models.CharField(max_length=8, blank=True)
    pool = models.CharField(max_length=80, blank=True)
    priority = models.BooleanField(default=False)
    owner_id = models.CharField(max_length=18, blank=True, help_text="The owner routing chose.")
    current_owner_id = models.CharField(
        max_length=18, blank=True, db_index=True, help_text="The owner as last seen."
    )
    status = models.CharField(max_length=12, choices=AssignmentStatus.choices)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    written_at = models.DateTimeField(null=True, blank=True)
    event_committed_at = models.DateTimeField(
        null=True, blank=True, help_text="Salesforce commit time of the lead's creation event."
    )
    overridden_by = models.CharField(max_length=18, blank=True)
    overridden_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["status"], name="routing_assignment_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} → {self.current_owner_id or self.owner_id} ({self.status})"


class PoolCursor(models.Model):
    """Where round robin stands in each pool (by pool name, so it survives new versions)."""

    pool_name = models.CharField(max_length=80, unique=True)
    position = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.pool_name} @ {self.position}"
