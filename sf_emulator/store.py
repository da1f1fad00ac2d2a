"""The org's records: in memory, written through to SQLite, with field history and change feed.

Reads hand out the stored dicts (treat them as read-only: every write replaces a record's dict, so
a dict obtained earlier stays a consistent snapshot). Writes run inside a transaction; the changes
of a transaction are persisted together and then published to subscribers in commit order.

Index for the SOQL engine: ``rows_where(sobject, field, values)`` answers ``field IN values`` from
an index for ``Id`` and every reference field (WhoId, OwnerId, RelationId, EmailMessageId...), and
is exposed as the optional DataSource method ``rows_by`` as well.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from sf_emulator import rules
from sf_emulator.changes import RecordChange
from sf_emulator.errors import SalesforceError
from sf_emulator.fieldinfo import FieldInfo
from sf_emulator.ids import IdFactory, decode_counter, is_valid_id, sobject_for_id, to_18
from sf_emulator.index import ReferenceIndex
from sf_emulator.persistence import Persistence
from sf_emulator.schema import SCHEMA, SYSTEM_FIELDS, canonical_sobject
from sf_emulator.transaction import Transaction, Write
from sf_emulator.values import decode, encode, truncate_ms

__all__ = ["SalesforceError", "Store", "Transaction"]

log = logging.getLogger(__name__)
ChangeCallback = Callable[[RecordChange], None]
_NOT_HISTORY = frozenset((*SYSTEM_FIELDS, "IsDeleted", "Id"))
_CDC_SKIP = frozenset(("SystemModstamp", "IsDeleted"))


class Store:
    """Records of every emulated object; implements the SOQL engine's DataSource protocol."""

    def __init__(self, *, path: Path, ids: IdFactory, clock: Callable[[], dt.datetime]) -> None:
        self._db = Persistence(path)
        self._ids = ids
        self._clock = clock
        self._lock = threading.RLock()
        self._records: dict[str, dict[str, dict]] = {name: {} for name in SCHEMA}
        self._index = ReferenceIndex()
        self._subscribers: list[ChangeCallback] = []
        self._load()

    @property
    def persistence(self) -> Persistence:
        return self._db

    # ---- reads (DataSource) -------------------------------------------------------------------
    def describe(self, sobject: str) -> dict[str, FieldInfo] | None:
        name = canonical_sobject(sobject)
        return SCHEMA[name] if name else None

    def rows(self, sobject: str, *, include_deleted: bool = False) -> Iterable[dict]:
        name = canonical_sobject(sobject)
        records = list(self._records[name].values()) if name else []
        return records if include_deleted else [r for r in records if not r["IsDeleted"]]

    def get(
        self, sobject_or_id: str, record_id: str | None = None, *, include_deleted: bool = False
    ) -> dict | None:
        """``get(sobject, id)`` (store contract) or ``get(id)`` (DataSource): the record or None."""
        rid = sobject_or_id if record_id is None else record_id
        if not is_valid_id(rid):
            return None
        sobject = sobject_for_id(rid)
        if sobject not in self._records or (
            record_id is not None and canonical_sobject(sobject_or_id) != sobject
        ):
            return None
        record = self._records[sobject].get(to_18(rid))
        if record is None or (record["IsDeleted"] and not include_deleted):
            return None
        return record

    def rows_where(
        self,
        sobject: str,
        field_name: str,
        values: Iterable[object],
        *,
        include_deleted: bool = False,
    ) -> list[dict]:
        """Records whose ``field_name`` is one of ``values`` (indexed for Id and references)."""
        name = canonical_sobject(sobject)
        if name is None:
            return []
        wanted = {to_18(v) if is_valid_id(v) else v for v in values}
        table = self._records[name]
        if field_name == "Id":
            found = [table[v] for v in wanted if isinstance(v, str) and v in table]
        elif self._index.covers(name, field_name):
            found = [table[i] for i in self._index.ids(name, field_name, wanted)]
        else:
            found = [r for r in table.values() if r.get(field_name) in wanted]
        return found if include_deleted else [r for r in found if not r["IsDeleted"]]

    rows_by = rows_where

    def count(self, sobject: str) -> int:
        return sum(1 for r in self._records[sobject].values() if not r["IsDeleted"])

    def history(self, sobject: str, record_id: str) -> list[dict]:
        if not is_valid_id(record_id):
            return []
        return self._db.history(to_18(record_id))

    def write_counts(self, sobject: str, field_name: str, *, user_id: str | None) -> dict[str, int]:
        """How often ``field_name`` was written per record, same-value writes included (the
        field history records changes only)."""
        return self._db.write_counts(sobject, field_name, user_id)

    def subscribe(self, callback: ChangeCallback) -> None:
        self._subscribers.append(callback)

    # ---- writes -------------------------------------------------------------------------------
    @contextmanager
    def transaction(self, *, user_id: str, client: str | None = None) -> Iterator[Transaction]:
        with self._lock:
            tx = Transaction(user_id=user_id, client=client)
            try:
                yield tx
            except BaseException:
                self._rollback(tx)
                raise
            self._commit(tx)

    def create(
        self,
        sobject: str,
        fields: Mapping[str, object],
        *,
        user_id: str,
        client: str | None = None,
        system: bool = False,
        tx: Transaction | None = None,
    ) -> str:
        name = self._sobject(sobject)
        with self._using(tx, user_id, client) as current:
            values = rules.clean_fields(name, fields, system=system, creating=True)
            written = tuple(values)
            rules.apply_defaults(name, values, user_id=user_id)
            now = self._now()
            record_id = str(values.pop("Id", None) or self._ids.new_id(name))
            record: dict[str, object] = {name_: None for name_ in SCHEMA[name]}
            record.update(
                Id=record_id,
                IsDeleted=False,
                CreatedDate=now,
                CreatedById=user_id,
                LastModifiedDate=now,
                LastModifiedById=user_id,
                SystemModstamp=now,
            )
            record.update(values)
            if values.get("CreatedDate") is not None:
                for stamp in ("LastModifiedDate", "SystemModstamp"):
                    record[stamp] = values.get(stamp) or values["CreatedDate"]
            rules.derive(name, record, previous={}, now=now)
            rules.check_required(name, record)
            self._check_references(name, values)
            if record_id in self._records[name]:
                raise SalesforceError(
                    400, "DUPLICATE_VALUE", f"duplicate value found: Id {record_id}"
                )
            self._put(current, name, record_id, record)
            full = {k: v for k, v in record.items() if v is not None and k not in _CDC_SKIP}
            current.writes.append(Write(name, record_id, "CREATE", full, (), {}, user_id, client))
            current.note(name, record_id, "created", None, None, user_id, now)
            _count_writes(current, name, record_id, written, user_id)
            return record_id

    def update(
        self,
        sobject: str,
        record_id: str,
        fields: Mapping[str, object],
        *,
        user_id: str,
        client: str | None = None,
        system: bool = False,
        tx: Transaction | None = None,
    ) -> None:
        name = self._sobject(sobject)
        with self._using(tx, user_id, client) as current:
            old = self._live(name, record_id)
            values = rules.clean_fields(name, fields, system=system, creating=False)
            now = self._now()
            record = {**old, **values}
            record.update(LastModifiedDate=now, LastModifiedById=user_id, SystemModstamp=now)
            record.update({k: v for k, v in values.items() if k in SYSTEM_FIELDS})
            rules.derive(name, record, previous=old, now=now)
            rules.check_required(name, record)
            self._check_references(name, values)
            changed = tuple(
                k for k in record if record[k] != old.get(k) and k not in ("SystemModstamp",)
            )
            changed = changed if "LastModifiedDate" in changed else (*changed, "LastModifiedDate")
            self._put(current, name, old["Id"], record)
            payload = {k: record[k] for k in changed}
            previous = {k: old.get(k) for k in changed}
            current.writes.append(
                Write(name, old["Id"], "UPDATE", payload, changed, previous, user_id, client)
            )
            for key in changed:
                if key not in _NOT_HISTORY:
                    current.note(name, old["Id"], key, old.get(key), record[key], user_id, now)
            _count_writes(current, name, old["Id"], values, user_id)

    def delete(
        self,
        sobject: str,
        record_id: str,
        *,
        user_id: str,
        client: str | None = None,
        tx: Transaction | None = None,
    ) -> None:
        name = self._sobject(sobject)
        with self._using(tx, user_id, client) as current:
            old = self._live(name, record_id)
            now = self._now()
            record = {**old, "IsDeleted": True, "LastModifiedDate": now, "SystemModstamp": now}
            record["LastModifiedById"] = user_id
            self._put(current, name, old["Id"], record)
            current.writes.append(Write(name, old["Id"], "DELETE", {}, (), {}, user_id, client))
            current.note(name, old["Id"], "deleted", None, None, user_id, now)

    def undelete(
        self,
        sobject: str,
        record_id: str,
        *,
        user_id: str,
        client: str | None = None,
        tx: Transaction | None = None,
    ) -> None:
        name = self._sobject(sobject)
        with self._using(tx, user_id, client) as current:
            old = self.get(name, record_id, include_deleted=True)
            if old is None or not old["IsDeleted"]:
                raise SalesforceError(400, "UNDELETE_FAILED", "Entity is not in the recycle bin")
            now = self._now()
            record = {**old, "IsDeleted": False, "LastModifiedDate": now, "SystemModstamp": now}
            record["LastModifiedById"] = user_id
            self._put(current, name, old["Id"], record)
            full = {k: v for k, v in record.items() if v is not None and k not in _CDC_SKIP}
            current.writes.append(Write(name, old["Id"], "UNDELETE", full, (), {}, user_id, client))
            current.note(name, old["Id"], "undeleted", None, None, user_id, now)

    def clear(self, *, keep: Iterable[str] = ("User", "Group")) -> None:
        """Remove every record (and its history) except those of the ``keep`` objects."""
        kept = set(keep)
        with self._lock:
            self._db.delete_except(kept)
            for sobject in SCHEMA:
                if sobject not in kept:
                    self._records[sobject] = {}
                    self._index.clear(sobject)

    def close(self) -> None:
        self._db.close()

    # ---- internals ----------------------------------------------------------------------------
    def _now(self) -> dt.datetime:
        return truncate_ms(self._clock().astimezone(dt.UTC))

    @staticmethod
    def _sobject(sobject: str) -> str:
        name = canonical_sobject(sobject)
        if name is None:
            raise SalesforceError(
                404, "NOT_FOUND", f"The requested resource does not exist: sObject type '{sobject}'"
            )
        return name

    def _live(self, sobject: str, record_id: str) -> dict:
        if not is_valid_id(record_id) or sobject_for_id(record_id) != sobject:
            raise SalesforceError(
                400,
                "MALFORMED_ID",
                f"{sobject} ID: id value of incorrect type: {record_id}",
                ["Id"],
            )
        record = self._records[sobject].get(to_18(record_id))
        if record is None:
            raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
        if record["IsDeleted"]:
            raise SalesforceError(404, "ENTITY_IS_DELETED", "entity is deleted", [])
        return record

    def _check_references(self, sobject: str, values: Mapping[str, object]) -> None:
        infos = SCHEMA[sobject]
        for name, value in values.items():
            info = infos[name]
            if info.type != "reference" or value is None:
                continue
            target = self.get(str(value))
            if target is None or sobject_for_id(str(value)) not in info.reference_to:
                raise SalesforceError(
                    400,
                    "INVALID_CROSS_REFERENCE_KEY",
                    f"invalid cross reference id: {info.label} {value}",
                    [name],
                )

    @contextmanager
    def _using(
        self, tx: Transaction | None, user_id: str, client: str | None
    ) -> Iterator[Transaction]:
        if tx is not None:
            yield tx
            return
        with self.transaction(user_id=user_id, client=client) as own:
            yield own

    def _put(self, tx: Transaction, sobject: str, record_id: str, record: dict) -> None:
        table = self._records[sobject]
        previous = table.get(record_id)
        tx.undo.append((sobject, record_id, previous))
        self._index.update(sobject, record_id, previous, record)
        table[record_id] = record

    def _rollback(self, tx: Transaction) -> None:
        for sobject, record_id, previous in reversed(tx.undo):
            table = self._records[sobject]
            self._index.update(sobject, record_id, table.get(record_id), previous)
            if previous is None:
                table.pop(record_id, None)
            else:
                table[record_id] = previous

    def _commit(self, tx: Transaction) -> None:
        if not tx.writes:
            return
        touched = {(sobject, rid) for sobject, rid, _ in tx.undo}
        rows = [
            (rid, sobject, {k: encode(v) for k, v in self._records[sobject][rid].items()})
            for sobject, rid in touched
        ]
        try:
            self._db.save(rows, tx.history, tx.field_writes)
        except Exception:
            self._rollback(tx)
            raise
        stamp = int(self._now().timestamp() * 1000)
        for number, write in enumerate(tx.writes, start=1):
            change = RecordChange(
                entity=write.sobject,
                change_type=write.change_type,
                record_id=write.record_id,
                fields=write.fields,
                changed_fields=write.changed,
                user_id=write.user_id,
                client=write.client,
                transaction_key=tx.key,
                sequence_number=number,
                commit_timestamp_ms=stamp,
                previous=write.previous,
            )
            for callback in list(self._subscribers):
                try:
                    callback(change)
                except Exception:
                    log.exception("change subscriber failed for %s", write.record_id)

    def _load(self) -> None:
        highest = 0
        for sobject, data in self._db.records():
            infos = SCHEMA.get(sobject)
            if infos is None:
                continue
            record = {name: decode(infos.get(name), data.get(name)) for name in infos}
            self._records[sobject][record["Id"]] = record
            self._index.update(sobject, record["Id"], None, record)
            highest = max(highest, decode_counter(record["Id"]))
        if highest:
            self._ids.advance_past(highest)


def _count_writes(
    tx: Transaction, sobject: str, record_id: str, fields: Iterable[str], user_id: str
) -> None:
    tx.field_writes.extend(
        (sobject, name, user_id, record_id) for name in fields if name not in _NOT_HISTORY
    )
