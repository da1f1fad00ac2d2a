"""Picking an owner inside a pool: round robin, weighted or capacity-capped, skipping reps who are
out of office or outside their working hours (in their own time zone)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from routing.choices import Distribution
from routing.engine.policy import CompiledPolicy, Member, Pool


@dataclass(frozen=True, slots=True)
class RepHours:
    time_zone: str
    start: dt.time
    end: dt.time
    days: frozenset[int]
    out_of_office: bool = False
    out_of_office_until: dt.datetime | None = None
    is_active: bool = True

    def unavailable_because(self, now: dt.datetime) -> str:
        """Empty when the rep can take a lead at ``now`` (aware), else the reason."""
        if not self.is_active:
            return "inactive"
        if self.out_of_office and (
            self.out_of_office_until is None or now < self.out_of_office_until
        ):
            return "out of office"
        local = now.astimezone(ZoneInfo(self.time_zone))
        if local.weekday() not in self.days or not self.start <= local.time() < self.end:
            return "outside working hours"
        return ""


@dataclass(frozen=True, slots=True)
class Choice:
    owner_id: str
    reason: str
    pool: str = ""


class Distributor:
    """Holds the state of one routing batch: round-robin cursors and open-lead counts move as
    leads are assigned, so a batch of 200 leads is spread exactly as 200 single leads would be."""

    def __init__(
        self,
        *,
        policy: CompiledPolicy,
        reps: Mapping[str, RepHours],
        open_leads: dict[str, int],
        cursors: dict[str, int],
        now: dt.datetime,
    ) -> None:
        self.policy = policy
        self.reps = reps
        self.open_leads = open_leads
        self.cursors = cursors
        self.now = now
        self.touched: set[str] = set()
        self._availability: dict[str, str] = {}

    def choose(self, pool: Pool) -> Choice:
        skipped: dict[str, int] = {}
        if pool.members:
            picked = self._pick(pool, skipped)
            if picked is not None:
                self.open_leads[picked.user_id] = self.open_leads.get(picked.user_id, 0) + 1
                load = self.open_leads[picked.user_id]
                return Choice(
                    picked.user_id,
                    f"pool {pool.name} ({_label(pool.distribution)}): {picked.name}, "
                    f"{load} open leads",
                    pool.name,
                )
        why = ", ".join(f"{count} {reason}" for reason, count in sorted(skipped.items()))
        why = f"no member available ({why})" if why else "no members"
        if pool.queue_id:
            name = self.policy.queue_names.get(pool.queue_id) or pool.queue_id
            return Choice(pool.queue_id, f"pool {pool.name}: {why} → queue {name}", pool.name)
        return self.fallback(f"pool {pool.name}: {why}")

    def fallback(self, why: str) -> Choice:
        return Choice(
            self.policy.fallback_queue_id,
            f"{why} → fallback queue {self.policy.fallback_queue_name}",
        )

    def _pick(self, pool: Pool, skipped: dict[str, int]) -> Member | None:
        cursor = self.cursors.get(pool.name, 0)
        length = len(pool.sequence)
        eligible: list[tuple[int, int, Member]] = []
        for step in range(length):
            member = pool.members[pool.sequence[(cursor + step) % length]]
            reason = self._unavailable(member, pool)
            if reason:
                skipped[reason] = skipped.get(reason, 0) + 1
                continue
            if pool.distribution != Distribution.CAPACITY:
                self._advance(pool.name, cursor + step + 1)
                return member
            eligible.append((self.open_leads.get(member.user_id, 0), step, member))
        if not eligible:
            return None
        _, step, member = min(eligible, key=lambda item: (item[0], item[1]))
        self._advance(pool.name, cursor + step + 1)
        return member

    def _unavailable(self, member: Member, pool: Pool) -> str:
        reason = self._availability.get(member.user_id)
        if reason is None:
            hours = self.reps.get(member.user_id)
            reason = hours.unavailable_because(self.now) if hours else "unknown rep"
            self._availability[member.user_id] = reason
        if reason:
            return reason
        cap = pool.cap_for(member)
        if cap is not None and self.open_leads.get(member.user_id, 0) >= cap:
            return "at capacity"
        return ""

    def _advance(self, pool_name: str, position: int) -> None:
        self.cursors[pool_name] = position
        self.touched.add(pool_name)


def _label(distribution: str) -> str:
    return {
        Distribution.ROUND_ROBIN: "round robin",
        Distribution.WEIGHTED: "weighted",
        Distribution.CAPACITY: "capacity-capped",
    }.get(distribution, distribution)
