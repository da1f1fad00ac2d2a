"""Dashboards: server-rendered pages with plotly charts, filters in the URL, CSV/JSON exports."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from analytics.dashboard import Dashboard
from analytics.filters import REGIONS, SEGMENTS, Filters
from analytics.pages import PAGES
from flywheel_site.exports import csv_text
from flywheel_site.roles import MANAGERS, OPS, has_role

NAV = (
    ("overview", "Overview"),
    ("routing", "Routing"),
    ("ttfr", "First response"),
    ("templates", "Templates"),
    ("flywheel", "Flywheel"),
)


@require_GET
@login_required
def dashboard(request: HttpRequest, page: str = "overview") -> HttpResponse:
    if not has_role(request.user, MANAGERS, OPS):
        raise PermissionDenied
    builder: Callable[[Filters], Dashboard] | None = PAGES.get(page)
    if builder is None:
        raise Http404("No such dashboard.")
    filters = Filters.from_query(request.GET, today=timezone.now().date())
    board = builder(filters)
    export = request.GET.get("export")
    if export == "json":
        return _json_export(board, page, filters)
    if export == "csv":
        return _csv_export(board, page, request.GET.get("table", ""))
    return render(
        request,
        "analytics/dashboard.html",
        {
            "board": board,
            "page": page,
            "nav": NAV,
            "filters": filters,
            "query": filters.query_string(),
            "segments": SEGMENTS,
            "regions": REGIONS,
            "sla_minutes": settings.TTFR_SLA_MINUTES,
        },
    )


def _json_export(board: Dashboard, page: str, filters: Filters) -> JsonResponse:
    response = JsonResponse(
        {"filters": filters.as_dict(), **board.as_json()}, json_dumps_params={"ensure_ascii": False}
    )
    response["Content-Disposition"] = (
        f'attachment; filename="{page}-{filters.start}-{filters.end}.json"'
    )
    return response


def _csv_export(board: Dashboard, page: str, table_name: str) -> HttpResponse:
    table = board.table(table_name) if table_name else (board.tables[0] if board.tables else None)
    if table is None:
        raise Http404("No such table on this dashboard.")
    response = HttpResponse(
        csv_text(table.header, table.rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{page}-{table.name}.csv"'
    return response


def chart_payload(board: Dashboard) -> str:
    return json.dumps({chart.name: chart.figure for chart in board.charts})
