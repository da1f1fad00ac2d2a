from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from salesforce import selectors as sf_selectors


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness plus what an operator checks first: listener heartbeat, queue, API budget."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    listener = sf_selectors.listener_status_get()
    api = sf_selectors.api_status_get()
    degraded = api["circuit_open"] or listener["state"] == "stopped"
    return JsonResponse(
        {
            "status": "degraded" if degraded else "ok",
            "database": "ok",
            "listener": listener,
            "queue_depth": sf_selectors.queue_depth_get(),
            "dead_letters": sf_selectors.dead_letters_open_count(),
            "salesforce_api": api,
        }
    )
