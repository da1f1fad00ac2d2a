"""Field metadata shared by the schema, the store, describe and the SOQL engine."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

FieldType = Literal[
    "id",
    "string",
    "textarea",
    "email",
    "phone",
    "url",
    "picklist",
    "int",
    "double",
    "currency",
    "percent",
    "boolean",
    "date",
    "datetime",
    "reference",
]


@dataclass(frozen=True)
class FieldInfo:
    """One field of an emulated sObject, as describe() reports it."""

    name: str
    type: FieldType
    label: str = ""
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    required_on_create: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    picklist_values: tuple[str, ...] = ()


class DataSource(Protocol):
    """What the SOQL engine needs from the org: metadata, rows and id lookups."""

    def describe(self, sobject: str) -> dict[str, FieldInfo] | None:
        """Fields of ``sobject`` keyed by API name (case as defined), or None if unknown."""

    def rows(self, sobject: str, *, include_deleted: bool = False) -> Iterable[dict]:
        """Every record of ``sobject`` as a flat dict of API name -> Python value.

        Values: str, int, float, bool, None, ``datetime.datetime`` (UTC aware) for datetime
        fields and ``datetime.date`` for date fields. Deleted records carry ``IsDeleted=True``.
        """

    def get(self, record_id: str) -> dict | None:
        """The record with this 15- or 18-character id (any object), or None."""
