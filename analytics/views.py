"""Dashboards: server-rendered pages with plotly charts, filters in the URL, CSV/JSON exports."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from analytics import exports
from analytics.dashboard import Dashboard
from analytics.filters import REGIONS, SEGMENTS, Filters
from analytics.metrics.operations import listener_notices
from flywheel_site.roles import MANAGERS, OPS, has_role
from salesforce import selectors as sf_selectors

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
    filters = Filters.from_query(request.GET, today=timezone.now().date())
    board = exports.dashboard_build(page=page, filters=filters)
    if board is None:
        raise Http404("No such dashboard.")
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
            "listener_notices": listener_notices(
                sf_selectors.listener_status_get(), now=timezone.now()
            ),
        },
    )


def _json_export(board: Dashboard, page: str, filters: Filters) -> JsonResponse:
    response = JsonResponse(
        exports.dashboard_json(board=board, filters=filters),
        json_dumps_params={"ensure_ascii": False},
    )
    filename = exports.json_filename(page=page, filters=filters)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _csv_export(board: Dashboard, page: str, table_name: str) -> HttpResponse:
    table = board.table(table_name) if table_name else (board.tables[0] if board.tables else None)
    if table is None:
        raise Http404("No such table on this dashboard.")
    response = HttpResponse(exports.table_csv(table), content_type="text/csv; charset=utf-8")
    filename = exports.csv_filename(page=page, table=table)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
