"""What a dashboard exports (JSON of the page, CSV of a table), shared by the views and
``manage.py metrics`` so that the report a scheduled job picks up is exactly what the pages show."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from django.core.serializers.json import DjangoJSONEncoder

from analytics.dashboard import Dashboard, Table
from analytics.filters import Filters
from analytics.pages import PAGES
from flywheel_site.exports import csv_text


def dashboard_build(*, page: str, filters: Filters) -> Dashboard | None:
    """The dashboard ``page`` for ``filters``; None for a page that does not exist."""
    builder = PAGES.get(page)
    return builder(filters) if builder is not None else None


def dashboard_json(*, board: Dashboard, filters: Filters) -> dict:
    return {"filters": filters.as_dict(), **board.as_json()}


def table_csv(table: Table) -> str:
    """UTF-8 CSV with a header row; every cell neutralised against formula injection."""
    return csv_text(table.header, table.rows)


def json_filename(*, page: str, filters: Filters) -> str:
    return f"{page}-{filters.start}-{filters.end}.json"


def csv_filename(*, page: str, table: Table) -> str:
    return f"{page}-{table.name}.csv"


def report_filters(*, days: int, today: dt.date) -> Filters:
    """The last ``days`` days, today included."""
    return Filters(start=today - dt.timedelta(days=days - 1), end=today)


def report_write(*, filters: Filters, outdir: Path) -> list[Path]:
    """Write every page as JSON and every table as CSV into ``outdir``; return the files written.

    Each file is written beside its final name and renamed into place, so a job reading the
    directory never sees half a file.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for page in PAGES:
        board = dashboard_build(page=page, filters=filters)
        assert board is not None
        data = json.dumps(
            dashboard_json(board=board, filters=filters),
            cls=DjangoJSONEncoder,
            ensure_ascii=False,
            indent=2,
        )
        written.append(_write(outdir / f"{page}.json", data))
        for table in board.tables:
            written.append(_write(outdir / csv_filename(page=page, table=table), table_csv(table)))
    return written


def _write(path: Path, text: str) -> Path:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
    return path
