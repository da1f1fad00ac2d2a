"""A store transaction: the writes, undo log, field history and field write counts it groups."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from sf_emulator.changes import ChangeType
from sf_emulator.persistence import FieldWrite, HistoryRow
from sf_emulator.values import encode, format_datetime


@dataclass
class Write:
    sobject: str
    record_id: str
    change_type: ChangeType
    fields: dict[str, object]
    changed: tuple[str, ...]
    previous: dict[str, object]
    user_id: str
    client: str | None


@dataclass
class Transaction:
    """Writes grouped under one transaction key; rolled back as a whole on an exception."""

    user_id: str
    client: str | None
    key: str = field(default_factory=lambda: str(uuid.uuid4()))
    undo: list[tuple[str, str, dict | None]] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    history: list[HistoryRow] = field(default_factory=list)
    field_writes: list[FieldWrite] = field(default_factory=list)

    def note(
        self,
        sobject: str,
        record_id: str,
        field_name: str,
        old: object,
        new: object,
        user_id: str,
        when: dt.datetime,
    ) -> None:
        """Add a field-history row (persisted with the transaction)."""
        self.history.append(
            (
                record_id,
                sobject,
                field_name,
                encode(old),
                encode(new),
                user_id,
                self.client,
                format_datetime(when),
            )
        )
