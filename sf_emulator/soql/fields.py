"""Field paths resolved against the data source: canonical names, relationship hops, types."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sf_emulator.fieldinfo import DataSource, FieldInfo
from sf_emulator.ids import KEY_PREFIXES, sobject_for_id
from sf_emulator.soql.errors import located
from sf_emulator.soql.nodes import FieldRef

_CANONICAL_OBJECTS = {name.lower(): name for name in KEY_PREFIXES}
# Fields of Salesforce's "Name" entity: what a polymorphic relationship (Owner, Who) exposes.
NAME_FIELDS = frozenset(
    ("id", "name", "firstname", "lastname", "alias", "email", "isactive", "phone", "title",
     "type", "userroleid", "profileid", "username")
)  # fmt: skip
NAME_TYPE = FieldInfo(name="Type", type="picklist")
Fetch = Callable[[str], dict | None]


@dataclass(frozen=True)
class Hop:
    """One step up a lookup: follow ``field`` (e.g. ``OwnerId``), output under ``relationship``."""

    field: str
    relationship: str
    targets: tuple[str, ...]

    @property
    def polymorphic(self) -> bool:
        return len(self.targets) > 1


@dataclass(frozen=True)
class BoundField:
    """A resolved field path; ``names`` maps each possible leaf object to its field's spelling."""

    text: str
    hops: tuple[Hop, ...]
    names: dict[str, str]
    info: FieldInfo

    @property
    def direct(self) -> str | None:
        """The field name when the path has no relationship hop."""
        return None if self.hops else next(iter(self.names.values()))


@dataclass
class Parent:
    record: dict
    sobject: str


class Schema:
    """Object and field lookups (case-insensitive) for one query against ``source``."""

    def __init__(self, source: DataSource, text: str) -> None:
        self.source = source
        self.text = text
        self._fields: dict[str, dict[str, FieldInfo] | None] = {}

    def object(self, name: str, *, pos: int) -> str:
        """The canonical object name, or INVALID_TYPE."""
        if self.fields_of(name) is None:
            raise located(
                "INVALID_TYPE",
                f"sObject type '{name}' is not supported. If you are attempting to use a custom "
                "object, be sure to append the '__c' after the entity name. Please reference your "
                "WSDL or the describe call for the appropriate names.",
                text=self.text,
                pos=pos,
            )
        return _CANONICAL_OBJECTS.get(name.lower(), name)

    def fields_of(self, sobject: str) -> dict[str, FieldInfo] | None:
        key = sobject.lower()
        if key not in self._fields:
            described = self.source.describe(sobject)
            self._fields[key] = (
                None if described is None else {n.lower(): f for n, f in described.items()}
            )
        return self._fields[key]

    def field(self, ref: FieldRef, sobject: str, *, alias: str | None = None) -> BoundField:
        path = list(ref.path)
        prefixes = {sobject.lower(), (alias or "").lower()}
        if (
            len(path) > 1
            and path[0].lower() in prefixes
            and not self._relationship(sobject, path[0])
        ):
            path = path[1:]
        hops: list[Hop] = []
        targets: tuple[str, ...] = (sobject,)
        for part in path[:-1]:
            hop = self._hop(targets, part, ref)
            hops.append(hop)
            targets = hop.targets
        polymorphic = bool(hops) and hops[-1].polymorphic
        names, info = self._leaf(targets, path[-1], polymorphic=polymorphic)
        if not names:
            entity = "Name" if polymorphic else targets[0]
            raise located(
                "INVALID_FIELD",
                f"No such column '{path[-1]}' on entity '{entity}'. If you are attempting to use "
                "a custom field, be sure to append the '__c' after the custom field name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
                text=self.text,
                pos=ref.pos,
            )
        return BoundField(text=ref.text, hops=tuple(hops), names=names, info=info)  # type: ignore[arg-type]

    def _relationship(self, sobject: str, name: str) -> FieldInfo | None:
        for info in (self.fields_of(sobject) or {}).values():
            if info.type == "reference" and (info.relationship_name or "").lower() == name.lower():
                return info
        return None

    def _hop(self, targets: tuple[str, ...], part: str, ref: FieldRef) -> Hop:
        for target in targets:
            info = self._relationship(target, part)
            if info is not None:
                known = tuple(t for t in info.reference_to if self.fields_of(t) is not None)
                if known:
                    return Hop(info.name, info.relationship_name or part, known)
        raise located(
            "INVALID_FIELD",
            f"Didn't understand relationship '{part}' in field path. If you are attempting to use "
            "a custom relationship, be sure to append the '__r' after the custom relationship "
            "name. Please reference your WSDL or the describe call for the appropriate names.",
            text=self.text,
            pos=ref.pos,
        )

    def _leaf(
        self, targets: tuple[str, ...], name: str, *, polymorphic: bool
    ) -> tuple[dict[str, str], FieldInfo | None]:
        key = name.lower()
        if polymorphic and key not in NAME_FIELDS:
            return {}, None
        names: dict[str, str] = {}
        first: FieldInfo | None = None
        for target in targets:
            info = (self.fields_of(target) or {}).get(key)
            if info is not None:
                names[_CANONICAL_OBJECTS.get(target.lower(), target)] = info.name
                first = first or info
        if polymorphic and key == "type":
            return {t: "Type" for t in targets}, NAME_TYPE
        return names, first


def parent_of(hop: Hop, record: dict, fetch: Fetch) -> Parent | None:
    """The record ``hop`` points to from ``record`` (None when the lookup is empty or dangling)."""
    parent_id = record.get(hop.field)
    if not isinstance(parent_id, str):
        return None
    parent = fetch(parent_id)
    if parent is None:
        return None
    sobject = sobject_for_id(parent_id) or hop.targets[0]
    return Parent(parent, sobject if sobject in hop.targets else hop.targets[0])


def leaf_value(field: BoundField, record: dict, sobject: str, *, polymorphic: bool) -> object:
    if polymorphic and field.info is NAME_TYPE:
        return "Queue" if sobject == "Group" and record.get("Type") == "Queue" else sobject
    name = field.names.get(sobject)
    return record.get(name) if name else None


def value_of(field: BoundField, record: dict, sobject: str, fetch: Fetch) -> object:
    """The value of ``field`` for ``record`` (a row of ``sobject``), following lookups."""
    polymorphic = False
    for hop in field.hops:
        parent = parent_of(hop, record, fetch)
        if parent is None:
            return None
        record, sobject, polymorphic = parent.record, parent.sobject, hop.polymorphic
    return leaf_value(field, record, sobject, polymorphic=polymorphic)
