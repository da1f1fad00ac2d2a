"""``execute``: filter, order, page and shape records the way Salesforce's REST query does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sf_emulator.fieldinfo import DataSource
from sf_emulator.soql.aggregates import aggregate_record
from sf_emulator.soql.conditions import Scope, compile_condition, getter
from sf_emulator.soql.errors import located, malformed
from sf_emulator.soql.fields import BoundField, Schema, leaf_value, parent_of
from sf_emulator.soql.indexes import candidate_rows
from sf_emulator.soql.nodes import Aggregate, BoolOp, FieldRef, Not, Query, SemiJoin
from sf_emulator.soql.ordering import sort_rows
from sf_emulator.soql.parser import parse


@dataclass
class QueryResult:
    """Records (Python values; see ``to_json_value``), the size Salesforce reports and the object."""

    records: list[dict] = field(default_factory=list)
    total_size: int = 0
    sobject: str = ""


def execute(
    query: str | Query,
    source: DataSource,
    *,
    include_deleted: bool = False,
    now: dt.datetime | None = None,
    api_version: str = "59.0",
) -> QueryResult:
    """Run one SOQL query against ``source``; raise SoqlError where Salesforce refuses it."""
    parsed = parse(query) if isinstance(query, str) else query
    run = _Run(source, parsed.text, now or dt.datetime.now(dt.UTC), api_version)
    return run.top(parsed, include_deleted=include_deleted or parsed.all_rows)


class _Run:
    def __init__(self, source: DataSource, text: str, now: dt.datetime, api_version: str) -> None:
        self.source = source
        self.schema = Schema(source, text)
        self.text = text
        self.now = now
        self.api_version = api_version
        self._parents: dict[str, dict | None] = {}
        self._subselects: dict[int, set[str]] = {}

    def fetch(self, record_id: str) -> dict | None:
        if record_id not in self._parents:
            self._parents[record_id] = self.source.get(record_id)
        return self._parents[record_id]

    def top(self, query: Query, *, include_deleted: bool) -> QueryResult:
        sobject = self.schema.object(query.sobject, pos=query.sobject_pos)
        scope = self.scope(sobject, query.alias)
        aggregates = [item for item in query.select if isinstance(item, Aggregate)]
        columns = [
            self.schema.field(item, sobject, alias=query.alias)
            for item in query.select
            if isinstance(item, FieldRef)
        ]
        _refuse_duplicates(columns, query, self.text)
        rows = self.matching(query, scope, include_deleted=include_deleted)
        if aggregates:
            if columns:
                raise malformed(
                    f"Field must be grouped or aggregated: {columns[0].text}",
                    text=self.text,
                    pos=query.select[0].pos,
                )
            return QueryResult(
                [aggregate_record(aggregates, rows, scope)], total_size=1, sobject=sobject
            )
        rows = sort_rows(rows, query.order_by, scope)
        rows = _page(rows, query)
        if query.count_only:
            return QueryResult([], total_size=len(rows), sobject=sobject)
        records = [self.record(row, sobject, columns) for row in rows]
        return QueryResult(records, total_size=len(records), sobject=sobject)

    def scope(self, sobject: str, alias: str | None) -> Scope:
        return Scope(self.schema, sobject, alias, self.fetch, self.now, self.subselect)

    def matching(self, query: Query, scope: Scope, *, include_deleted: bool) -> list[dict]:
        predicate = compile_condition(query.where, scope) if query.where else None
        rows: Iterable[dict] | None = None
        if not include_deleted:
            rows = candidate_rows(self.source, query.where, scope)
        if rows is None:
            rows = self.source.rows(scope.sobject, include_deleted=include_deleted)
        if predicate is None:
            return list(rows)
        return [row for row in rows if predicate(row)]

    def subselect(self, query: Query, node: SemiJoin) -> set[str]:
        """Values of the single id field a semi-join sub-select returns (computed once)."""
        key = id(node)
        if key not in self._subselects:
            self._subselects[key] = self._subselect(query)
        return self._subselects[key]

    def _subselect(self, query: Query) -> set[str]:
        sobject = self.schema.object(query.sobject, pos=query.sobject_pos)
        if len(query.select) != 1 or not isinstance(query.select[0], FieldRef):
            raise malformed(
                "A semi-join sub-select must select exactly one Id or reference field",
                text=self.text,
                pos=query.sobject_pos,
            )
        if _has_semi_join(query):
            raise malformed(
                "Nesting of semi join sub-selects is not supported",
                text=self.text,
                pos=query.sobject_pos,
            )
        scope = self.scope(sobject, query.alias)
        column = self.schema.field(query.select[0], sobject, alias=query.alias)
        if column.info.type not in ("id", "reference"):
            raise located(
                "INVALID_FIELD",
                f"Semi join sub-selects are only allowed on Id or reference fields: {column.text}",
                text=self.text,
                pos=query.select[0].pos,
            )
        rows = _page(self.matching(query, scope, include_deleted=False), query)
        value = getter(column, scope)
        return {v for v in map(value, rows) if isinstance(v, str)}

    def record(self, row: dict, sobject: str, columns: list[BoundField]) -> dict:
        out = self.attributes(sobject, row.get("Id"), type_name=sobject)
        sources: dict[int, tuple[dict, str]] = {id(out): (row, sobject)}
        for column in columns:
            self.place(out, column, sources)
        return out

    def attributes(self, sobject: str, record_id: object, *, type_name: str) -> dict:
        url = f"/services/data/v{self.api_version}/sobjects/{sobject}/{record_id}"
        return {"attributes": {"type": type_name, "url": url}}

    def place(self, out: dict, column: BoundField, sources: dict[int, tuple[dict, str]]) -> None:
        """Put ``column``'s value into ``out``, nesting parent records under relationship names.

        ``sources`` maps each output dict to the stored row (and its object) it renders.
        """
        container, polymorphic = out, False
        for hop in column.hops:
            if hop.relationship not in container:
                row, _ = sources[id(container)]
                parent = parent_of(hop, row, self.fetch)
                nested = None
                if parent is not None:
                    type_name = "Name" if hop.polymorphic else parent.sobject
                    nested = self.attributes(
                        parent.sobject, parent.record.get("Id"), type_name=type_name
                    )
                    sources[id(nested)] = (parent.record, parent.sobject)
                container[hop.relationship] = nested
            if container[hop.relationship] is None:
                return
            container, polymorphic = container[hop.relationship], hop.polymorphic
        row, sobject = sources[id(container)]
        name = column.names.get(sobject) or column.info.name
        container[name] = leaf_value(column, row, sobject, polymorphic=polymorphic)


def _page(rows: list[dict], query: Query) -> list[dict]:
    start = query.offset or 0
    end = None if query.limit is None else start + query.limit
    return rows[start:end]


def _refuse_duplicates(columns: list[BoundField], query: Query, text: str) -> None:
    seen: set[tuple[str, ...]] = set()
    for column, item in zip(columns, _field_items(query), strict=True):
        key = (*(hop.relationship for hop in column.hops), column.info.name.lower())
        if key in seen:
            raise malformed(f"duplicate field selected: {column.text}", text=text, pos=item.pos)
        seen.add(key)


def _field_items(query: Query) -> list[FieldRef]:
    return [item for item in query.select if isinstance(item, FieldRef)]


def _has_semi_join(query: Query) -> bool:
    pending = [query.where] if query.where else []
    while pending:
        node = pending.pop()
        if isinstance(node, SemiJoin):
            return True
        if isinstance(node, BoolOp):
            pending.extend(node.items)
        elif isinstance(node, Not):
            pending.append(node.item)
    return False
