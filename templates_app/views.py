"""Suggested replies in the app: the owner's queue and one lead's page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from flywheel_site.roles import LABELERS, MANAGERS, OPS, has_role
from templates_app.choices import Intent
from templates_app.models import TemplateSuggestion
from templates_app.selectors import suggestion_list


def _require_role(request: HttpRequest) -> None:
    if not has_role(request.user, OPS, MANAGERS, LABELERS):
        raise PermissionDenied


@login_required
def suggestion_queue(request: HttpRequest) -> HttpResponse:
    _require_role(request)
    owner = request.GET.get("owner", "").strip()[:18]
    intent = request.GET.get("intent", "").strip()
    intent = intent if intent in Intent.values else ""
    page = Paginator(suggestion_list(owner_id=owner or None, intent=intent or None), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "templates_app/queue.html",
        {"page": page, "owner": owner, "intent": intent, "intents": Intent.choices},
    )


@login_required
def suggestion_detail(request: HttpRequest, lead_id: str) -> HttpResponse:
    _require_role(request)
    suggestion = get_object_or_404(
        TemplateSuggestion.objects.select_related("template"), lead_id=lead_id
    )
    return render(request, "templates_app/detail.html", {"s": suggestion})
