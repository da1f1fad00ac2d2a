"""A Salesforce client double with the contract API of salesforce.client (update_records)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FakeRecordResult:
    id: str | None
    success: bool
    errors: list[dict] = field(default_factory=list)


@dataclass
class FakeClient:
    """Records each update_records call; ids in ``reject`` fail, ``down`` makes every call raise."""

    reject: dict[str, str] = field(default_factory=dict)
    down: bool = False
    calls: list[tuple[str, list[dict]]] = field(default_factory=list)
    owners: dict[str, str] = field(default_factory=dict)  # Lead OwnerId as Salesforce has it
    queries: list[tuple[str, list[str]]] = field(default_factory=list)

    def query_ids(self, template: str, ids: list[str], *, chunk: int = 200) -> list[dict]:
        self.queries.append((template, list(ids)))
        if self.down:
            raise ConnectionError("Salesforce unreachable")
        return [{"Id": i, "OwnerId": self.owners[i]} for i in ids if i in self.owners]

    def update_records(self, sobject: str, records: list[dict]) -> list[FakeRecordResult]:
        assert len(records) <= 200, "sObject Collections take at most 200 records"
        self.calls.append((sobject, [dict(r) for r in records]))
        if self.down:
            raise ConnectionError("Salesforce unreachable")
        results = []
        for r in records:
            if msg := self.reject.get(r["Id"]):
                error = {"statusCode": "ENTITY_IS_LOCKED", "message": msg}
                results.append(FakeRecordResult(None, False, [error]))
            else:
                self.owners[r["Id"]] = r.get("OwnerId", self.owners.get(r["Id"], ""))
                results.append(FakeRecordResult(r["Id"], True))
        return results

    @property
    def written(self) -> dict[str, str]:
        return {r["Id"]: r["OwnerId"] for _, records in self.calls for r in records}
