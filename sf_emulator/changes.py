"""The record-change contract between the emulator's store and its consumers (CDC, traffic)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ChangeType = Literal["CREATE", "UPDATE", "DELETE", "UNDELETE"]


@dataclass(frozen=True)
class RecordChange:
    """One committed change of one record, published by the store after the write is durable.

    ``fields`` holds every non-null field of the record after the change for CREATE/UNDELETE, the
    changed fields (new values) for UPDATE, and nothing for DELETE. ``changed_fields`` names the
    fields that changed (UPDATE only). ``client`` is the ``client=`` value of the caller's
    ``Sforce-Call-Options`` header (None when absent). Times are epoch milliseconds.
    """

    entity: str
    change_type: ChangeType
    record_id: str
    fields: dict[str, object]
    changed_fields: tuple[str, ...]
    user_id: str
    client: str | None
    transaction_key: str
    sequence_number: int
    commit_timestamp_ms: int
    previous: dict[str, object] = field(default_factory=dict)
