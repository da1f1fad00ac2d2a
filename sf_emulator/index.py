"""Per-field value → record ids index over the reference fields of every object."""

from __future__ import annotations

from collections.abc import Iterable

from sf_emulator.schema import REFERENCE_FIELDS


class ReferenceIndex:
    """Answers ``field IN (ids)`` for reference fields (WhoId, OwnerId, RelationId...) directly."""

    def __init__(self) -> None:
        self._maps: dict[tuple[str, str], dict[str, set[str]]] = {
            (sobject, name): {} for sobject, names in REFERENCE_FIELDS.items() for name in names
        }

    def covers(self, sobject: str, field_name: str) -> bool:
        return (sobject, field_name) in self._maps

    def ids(self, sobject: str, field_name: str, values: Iterable[object]) -> set[str]:
        index = self._maps[(sobject, field_name)]
        found: set[str] = set()
        for value in values:
            if isinstance(value, str):
                found |= index.get(value, set())
        return found

    def update(self, sobject: str, record_id: str, old: dict | None, new: dict | None) -> None:
        """Move ``record_id`` from its old reference values to its new ones."""
        for name in REFERENCE_FIELDS[sobject]:
            before = old.get(name) if old else None
            after = new.get(name) if new else None
            if before == after:
                continue
            index = self._maps[(sobject, name)]
            if isinstance(before, str):
                index.get(before, set()).discard(record_id)
            if isinstance(after, str):
                index.setdefault(after, set()).add(record_id)

    def clear(self, sobject: str) -> None:
        for key in self._maps:
            if key[0] == sobject:
                self._maps[key] = {}
