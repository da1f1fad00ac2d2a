"""Review pages served inside the admin (wired in ``DecisionAdmin.get_urls``): review one decision,
confirm a correction's push to Salesforce, jump to the next decision, download an export."""

from __future__ import annotations

import datetime as dt
import json
import logging
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from flywheel.choices import Verdict
from flywheel.exports import (
    ExportOptions,
    export_job_file,
    export_job_request,
    export_options,
    export_queryset,
    export_zip_write,
)
from flywheel.forms import CorrectionForm, ExportForm
from flywheel.hooks import correction_hook_for
from flywheel.models import Decision, ExportJob, Label
from flywheel.selectors import decision_next_for_review, workloads_list
from flywheel.services import label_record

logger = logging.getLogger(__name__)
REVIEW_PERMISSION = "flywheel.add_label"
EXPORT_PERMISSION = "flywheel.view_decision"


SKIPPED_KEY = "flywheel_review_skipped"  # decision ids skipped in this login session
MAX_SKIPPED = 500


def can_review(user: AbstractBaseUser | AnonymousUser) -> bool:
    return user.is_active and user.has_perm(REVIEW_PERMISSION)


def review(request: HttpRequest, pk: int) -> HttpResponse:
    """Accept or correct one decision in one POST, then go on to the next one (or confirm the
    push of a correction to Salesforce first, where the workload has a correction hook)."""
    _reviewer_required(request)
    decision = get_object_or_404(Decision, pk=pk)
    workload = request.GET.get("workload", "")
    form = CorrectionForm(
        request.POST if request.method == "POST" else None,
        schema=decision.output_schema,
        output=decision.output,
    )
    if request.method == "POST":
        label = _label_from_post(request, decision, form)
        if label is not None:
            if label.verdict == Verdict.INCORRECT and correction_hook_for(decision.workload):
                url = reverse("admin:flywheel_decision_push", args=[decision.pk, label.pk])
                return _redirect(url, workload=workload)
            return _next_redirect(decision.pk, workload)
    labels = list(decision.labels.select_related("reviewer").order_by("created_at", "id"))
    return TemplateResponse(
        request,
        "admin/flywheel/decision/review.html",
        {
            **_admin_context(request, f"Review decision #{decision.pk}"),
            "decision": decision,
            "lead": _lead(decision.context),
            "other_context": _other_context(decision.context),
            "rows": _output_rows(decision),
            "prompt": [
                m for m in decision.conversation.get("messages", []) if m["role"] != "assistant"
            ],
            "labels": labels,
            "form": form,
            "hook": correction_hook_for(decision.workload),
            "workload": workload,
        },
    )


def correction_push(request: HttpRequest, pk: int, label_id: int) -> HttpResponse:
    """The confirm step: push a correction to Salesforce through the workload's hook, or skip."""
    _reviewer_required(request)
    label = get_object_or_404(
        Label.objects.select_related("decision"),
        pk=label_id,
        decision_id=pk,
        verdict=Verdict.INCORRECT,
        corrected_output__isnull=False,
    )
    found = correction_hook_for(label.decision.workload)
    if found is None:
        raise PermissionDenied("This workload cannot push corrections.")
    hook, description = found
    workload = request.GET.get("workload", "")
    if request.method == "POST":
        if "confirm" not in request.POST:
            messages.info(request, "Correction saved; nothing sent to Salesforce.")
            return _next_redirect(pk, workload)
        try:
            sentence = hook(decision_id=pk, corrected_output=label.corrected_output)
        except Exception as error:  # the hook raises to report a failure; the reviewer may retry
            logger.warning("correction push for decision %s failed: %s", pk, error)
            messages.error(request, f"Not sent to Salesforce: {error}")
            return _redirect(request.path, workload=workload)
        messages.success(request, sentence)
        return _next_redirect(pk, workload)
    changes = [
        (key, _show(label.decision.output.get(key)), _show(value))
        for key, value in label.corrected_output.items()
        if label.decision.output.get(key) != value
    ]
    return TemplateResponse(
        request,
        "admin/flywheel/decision/confirm.html",
        {
            **_admin_context(request, f"Push the correction of decision #{pk}?"),
            "decision": label.decision,
            "label": label,
            "description": description,
            "changes": changes,
        },
    )


def review_next(request: HttpRequest) -> HttpResponse:
    """The next decision the reviewer has not labeled (unlabeled ones first), or the list.
    ``skip=1`` puts ``after`` aside for this login session: it comes back once nothing else is
    left."""
    _reviewer_required(request)
    workload = request.GET.get("workload", "")
    after = request.GET.get("after", "")
    after_pk = int(after) if after.isascii() and after.isdigit() and len(after) <= 18 else None
    skipped = [pk for pk in request.session.get(SKIPPED_KEY, []) if isinstance(pk, int)]
    if after_pk is not None and request.GET.get("skip") == "1" and after_pk not in skipped:
        skipped = [*skipped, after_pk][-MAX_SKIPPED:]
        request.session[SKIPPED_KEY] = skipped
    decision = decision_next_for_review(
        reviewer=request.user,
        after=Decision(pk=after_pk) if after_pk is not None else None,
        workload=workload,
        skipped=skipped,
    )
    if decision is None and skipped:
        request.session[SKIPPED_KEY] = []
        messages.info(
            request, "Only decisions you skipped are left; they are back in the review queue."
        )
        return redirect("admin:flywheel_decision_changelist")
    if decision is None:
        messages.success(request, "Nothing left to review. Thank you!")
        return redirect("admin:flywheel_decision_changelist")
    url = reverse("admin:flywheel_decision_review", args=[decision.pk])
    return _redirect(url, workload=workload)


def export_download(request: HttpRequest) -> HttpResponse:
    """The JSONL export of ``manage.py export_flywheel`` as one zip file: up to
    FLYWHEEL_EXPORT_INLINE_MAX decisions at once, more prepared by a worker and listed here."""
    if not request.user.has_perm(EXPORT_PERMISSION):
        raise PermissionDenied
    bound = "format" in request.GET
    form = ExportForm(request.GET if bound else None, workloads=workloads_list())
    if bound and form.is_valid():
        options = export_options(form.cleaned_data, out=Path("."))
        count = export_queryset(options).count()
        if count > settings.FLYWHEEL_EXPORT_INLINE_MAX:
            job = export_job_request(user=request.user, data=form.cleaned_data, decisions=count)
            messages.info(
                request,
                f"Export #{job.pk} of {count:,} decisions is being prepared; download it below "
                "when it is ready (reload this page).",
            )
            return redirect("admin:flywheel_decision_export")
        response = _export_zip(options) if count else None
        if response is not None:
            return response
        messages.warning(request, "Nothing to export with these filters.")
    return TemplateResponse(
        request,
        "admin/flywheel/decision/export.html",
        {
            **_admin_context(request, "Download training data (JSONL)"),
            "form": form,
            "jobs": ExportJob.objects.filter(requested_by=request.user)[:10],
            "inline_max": settings.FLYWHEEL_EXPORT_INLINE_MAX,
        },
    )


def export_file(request: HttpRequest, pk: int) -> HttpResponse:
    """A finished background export, for the user who asked for it only."""
    if not request.user.has_perm(EXPORT_PERMISSION):
        raise PermissionDenied
    job = get_object_or_404(ExportJob, pk=pk, requested_by=request.user)
    path = export_job_file(job)
    if path is None:
        raise Http404("This export is not ready, or its file was deleted.")
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name)


def _reviewer_required(request: HttpRequest) -> None:
    if not can_review(request.user):
        raise PermissionDenied("Reviewing decisions is for the Labelers group.")


def _label_from_post(
    request: HttpRequest, decision: Decision, form: CorrectionForm
) -> Label | None:
    action = request.POST.get("action")
    note = request.POST.get("note", "").strip()
    if action == "accept":
        label = label_record(
            decision_id=decision.pk, verdict=Verdict.CORRECT, reviewer=request.user, note=note
        )
        messages.success(request, f"Decision #{decision.pk} accepted.")
        return label
    if action != "correct" or not form.is_valid():
        return None
    try:
        label = label_record(
            decision_id=decision.pk,
            verdict=Verdict.INCORRECT,
            corrected_output=form.corrected,
            reviewer=request.user,
            note=note,
        )
    except ValidationError as error:
        form.add_error(None, error.messages)
        return None
    if label.verdict == Verdict.CORRECT:
        messages.info(request, f"Nothing changed: decision #{decision.pk} accepted as it was.")
    else:
        messages.success(request, f"Correction of decision #{decision.pk} saved.")
    return label


def _next_redirect(after: int, workload: str) -> HttpResponseRedirect:
    return _redirect(reverse("admin:flywheel_decision_next"), after=after, workload=workload)


def _redirect(url: str, **params: object) -> HttpResponseRedirect:
    query = urlencode({key: value for key, value in params.items() if value not in ("", None)})
    return HttpResponseRedirect(f"{url}?{query}" if query else url)


def _admin_context(request: HttpRequest, title: str) -> dict:
    return {**admin.site.each_context(request), "opts": Decision._meta, "title": title}


def _lead(context: dict) -> dict:
    """The lead's fields: ``context["lead"]`` where the workload nests them, else the flat facts."""
    lead = context.get("lead")
    if isinstance(lead, dict):
        return lead
    return {key: value for key, value in context.items() if not isinstance(value, dict | list)}


def _other_context(context: dict) -> str:
    lead = _lead(context)
    rest = {key: value for key, value in context.items() if key != "lead" and key not in lead}
    return json.dumps(rest, indent=2, ensure_ascii=False) if rest else ""


def _output_rows(decision: Decision) -> list[dict]:
    """Per output field: the decision's value, what the rules said, and the schema's options."""
    properties = decision.output_schema.get("properties") or {}
    rules = decision.context.get("rules")
    rules = rules if isinstance(rules, dict) else {}
    names = [*properties, *[key for key in decision.output if key not in properties]]
    return [
        {
            "name": name,
            "value": _show(decision.output.get(name)),
            "rules": _show(rules[name]) if name in rules else "",
            "differs": name in rules and rules[name] != decision.output.get(name),
            "options": properties.get(name, {}).get("enum") or [],
        }
        for name in names
    ]


def _show(value: Any) -> str:
    if value is None:
        return "—"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _export_zip(options: ExportOptions) -> FileResponse | None:
    archive = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it once sent)
    if export_zip_write(options, archive) is None:
        archive.close()
        return None
    archive.seek(0)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    return FileResponse(archive, as_attachment=True, filename=f"flywheel-{stamp}.zip")
