"""Dashboard filters: parsed from the URL, validated, and applied to the fact tables."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, replace
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import QueryDict

DEFAULT_DAYS = 30
MAX_DAYS = 366
SEGMENTS = ("SMB", "MM", "ENT", "UNKNOWN")
REGIONS = ("NA", "EMEA", "APAC", "LATAM", "MEA", "UNKNOWN")
_ID = re.compile(r"^[0-9A-Za-z]{15,18}$")


@dataclass(frozen=True)
class Filters:
    start: dt.date
    end: dt.date
    segment: str = ""
    region: str = ""
    team: str = ""
    owner: str = ""
    source: str = ""

    @classmethod
    def from_query(cls, query: QueryDict | dict, *, today: dt.date) -> Filters:
        """Unknown or malformed values fall back to "all" rather than failing the page."""
        end = _date(query.get("end"), today)
        start = _date(query.get("start"), end - dt.timedelta(days=DEFAULT_DAYS - 1))
        if start > end:
            start, end = end, start
        start = max(start, end - dt.timedelta(days=MAX_DAYS))
        segment = query.get("segment", "")
        region = query.get("region", "")
        team = query.get("team", "")
        owner = query.get("owner", "")
        return cls(
            start=start,
            end=end,
            segment=segment if segment in SEGMENTS else "",
            region=region if region in REGIONS else "",
            team=team if team in REGIONS else "",
            owner=owner if _ID.match(owner or "") else "",
            source=(query.get("source") or "")[:40],
        )

    @property
    def start_at(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time.min, tzinfo=dt.UTC)

    @property
    def end_at(self) -> dt.datetime:
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)

    def query_string(self, **changes: str) -> str:
        values = {
            key: str(value) for key, value in asdict(replace(self, **changes)).items() if value
        }
        return urlencode(values)

    def as_dict(self) -> dict[str, str]:
        return {key: str(value) for key, value in asdict(self).items()}

    def apply_facts(self, queryset: QuerySet, *, created_field: str = "created_at") -> QuerySet:
        """Filter a LeadFact-shaped queryset (segment, region, team, owner_id, lead_source)."""
        queryset = queryset.filter(
            **{f"{created_field}__gte": self.start_at, f"{created_field}__lt": self.end_at}
        )
        for field, value in (
            ("segment", self.segment),
            ("region", self.region),
            ("team", self.team),
            ("owner_id", self.owner),
            ("lead_source", self.source),
        ):
            if value:
                queryset = queryset.filter(**{field: value})
        return queryset


def _date(value: object, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value)) if value else default
    except ValueError:
        return default
