"""Dry runs of a policy over leads: no Salesforce writes, no Decision rows, no ledger changes."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from flywheel_site.exports import csv_safe
from routing.engine.classify import classify
from routing.engine.distribute import Distributor, RepHours
from routing.engine.policy import CompiledPolicy
from routing.engine.route import Routed, route_ambiguous_fallback, route_classified

OUTPUT_COLUMNS = ("segment", "region", "owner_id", "reason", "confidence", "decided_by")
EXTRA_COLUMNS = ("owner", "pool", "priority")


@dataclass(frozen=True, slots=True)
class SimulatedLead:
    fields: Mapping[str, object]
    routed: Routed
    decided_by: str

    def row(self, policy: CompiledPolicy) -> dict[str, object]:
        cls = self.routed.classification
        return {
            "segment": cls.segment,
            "region": cls.region,
            "owner_id": self.routed.owner_id,
            "reason": self.routed.explanation(),
            "confidence": f"{cls.confidence:.2f}",
            "decided_by": self.decided_by,
            "owner": policy.owner_label(self.routed.owner_id),
            "pool": self.routed.choice.pool,
            "priority": "yes" if cls.priority else "",
        }


def leads_simulate(
    *,
    leads: Iterable[Mapping[str, object]],
    policy: CompiledPolicy,
    reps: Mapping[str, RepHours],
    open_leads: Mapping[str, int],
    now: dt.datetime,
) -> list[SimulatedLead]:
    """Route ``leads`` as the task would with the LLM off (ambiguous → fallback, and why)."""
    distributor = Distributor(
        policy=policy, reps=reps, open_leads=dict(open_leads), cursors={}, now=now
    )
    simulated = []
    for fields in leads:
        cls = classify(policy, fields)
        if cls.ambiguous:
            routed, by = route_ambiguous_fallback(cls, distributor), "fallback"
        else:
            routed, by = route_classified(cls, distributor), "rules"
        simulated.append(SimulatedLead(fields, routed, by))
    return simulated


@dataclass(frozen=True)
class LeadChange:
    lead: str
    segment: tuple[str, str]
    owner: tuple[str, str]


@dataclass(frozen=True)
class Comparison:
    total: int
    owner_changed: int
    segment_changed: int
    region_changed: int
    load_before: dict[str, int]
    load_after: dict[str, int]
    changes: list[LeadChange]

    def lines(self, *, before: str, after: str, label: object, limit: int = 50) -> list[str]:
        lines = [
            f"{self.total} leads: owner changes for {self.owner_changed}, segment for "
            f"{self.segment_changed}, region for {self.region_changed} ({before} → {after}).",
        ]
        for change in self.changes[:limit]:
            parts = []
            if change.segment[0] != change.segment[1]:
                parts.append(f"segment {change.segment[0]} → {change.segment[1]}")
            if change.owner[0] != change.owner[1]:
                parts.append(f"owner {label(change.owner[0])} → {label(change.owner[1])}")
            lines.append(f"  {change.lead}: {', '.join(parts)}")
        if len(self.changes) > limit:
            lines.append(f"  … and {len(self.changes) - limit} more")
        lines.append(f"Load per owner ({before} → {after}):")
        owners = sorted(set(self.load_before) | set(self.load_after), key=label)
        for owner in owners:
            was, now = self.load_before.get(owner, 0), self.load_after.get(owner, 0)
            lines.append(f"  {label(owner)} [{owner}]: {was} → {now} ({now - was:+d})")
        return lines


def runs_compare(*, before: list[SimulatedLead], after: list[SimulatedLead]) -> Comparison:
    pairs = list(zip(before, after, strict=True))
    changes = [
        LeadChange(
            lead=str(b.fields.get("Id") or f"row {number}"),
            segment=(a.routed.classification.segment, b.routed.classification.segment),
            owner=(a.routed.owner_id, b.routed.owner_id),
        )
        for number, (a, b) in enumerate(pairs, start=1)
        if a.routed.owner_id != b.routed.owner_id
        or a.routed.classification.segment != b.routed.classification.segment
    ]
    return Comparison(
        total=len(pairs),
        owner_changed=sum(a.routed.owner_id != b.routed.owner_id for a, b in pairs),
        segment_changed=sum(
            a.routed.classification.segment != b.routed.classification.segment for a, b in pairs
        ),
        region_changed=sum(
            a.routed.classification.region != b.routed.classification.region for a, b in pairs
        ),
        load_before=dict(Counter(s.routed.owner_id for s in before)),
        load_after=dict(Counter(s.routed.owner_id for s in after)),
        changes=changes,
    )


def simulation_csv(
    *, simulated: list[SimulatedLead], policy: CompiledPolicy, input_columns: list[str]
) -> str:
    columns = [
        *input_columns,
        *(c for c in (*OUTPUT_COLUMNS, *EXTRA_COLUMNS) if c not in input_columns),
    ]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writerow({name: csv_safe(name) for name in columns})  # the header comes from the input
    for item in simulated:
        row = {name: item.fields.get(name) for name in input_columns}
        row.update(item.row(policy))
        writer.writerow({key: csv_safe(value) for key, value in row.items()})
    return buffer.getvalue()


def leads_read_csv(text: str) -> tuple[list[str], list[dict[str, object]]]:
    """Rows keyed by the header (Lead field API names); empty cells count as missing."""
    reader = csv.DictReader(io.StringIO(text))
    columns = [name.strip() for name in (reader.fieldnames or [])]
    rows = [
        {
            key.strip(): (value.strip() if isinstance(value, str) and value.strip() else None)
            for key, value in row.items()
            if key
        }
        for row in reader
    ]
    return columns, rows
