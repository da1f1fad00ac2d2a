"""Which metrics make up each dashboard page."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings

from analytics.dashboard import Dashboard
from analytics.filters import Filters
from analytics.metrics.flywheel import flywheel_dashboard
from analytics.metrics.overview import overview_dashboard
from analytics.metrics.routing import routing_dashboard
from analytics.metrics.templates import templates_dashboard
from analytics.metrics.ttfr import ttfr_dashboard


def _ttfr(filters: Filters) -> Dashboard:
    return ttfr_dashboard(filters, sla_minutes=settings.TTFR_SLA_MINUTES)


PAGES: dict[str, Callable[[Filters], Dashboard]] = {
    "overview": overview_dashboard,
    "ttfr": _ttfr,
    "routing": routing_dashboard,
    "templates": templates_dashboard,
    "flywheel": flywheel_dashboard,
}
