"""manage.py suggest_template: dry run of intent detection and rendering for a lead or a text."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from salesforce.client import get_client
from salesforce.fields import select_clause
from salesforce.ids import is_salesforce_id
from templates_app import services
from templates_app.rendering import render
from templates_app.selectors import active_templates_by_intent


class Command(BaseCommand):
    help = "Show the intent, template, confidence and rendered email for a lead (by id) or a text."

    def add_arguments(self, parser) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--lead", help="Salesforce Lead id (read through the API).")
        source.add_argument("--text", help="An inquiry text to classify.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, lead: str | None, text: str | None, json: bool, **options) -> None:
        templates = active_templates_by_intent()
        if not templates:
            raise CommandError("No active templates. Run `manage.py load_config` first.")
        fields = self._lead(lead) if lead else {"Id": "", "Description": text or ""}
        context = services.lead_context(fields)
        result = services.template_choose(context=context, templates=templates)
        by_name = {t.name: t for t in templates.values()}
        template = by_name.get(result.output.get("template")) or templates.get(
            result.output["intent"]
        )
        rendered = render(subject=template.subject, body=template.body, values=fields)
        summary = {
            "intent": result.output["intent"],
            "template": template.name,
            "confidence": result.confidence,
            "decided_by": result.decided_by,
            "reason": result.explanation,
            "subject": rendered.subject,
            "body": rendered.body,
        }
        if json:
            self.stdout.write(_dumps(summary))
            return
        for key in ("intent", "template", "confidence", "decided_by", "reason", "subject"):
            self.stdout.write(f"{key:>11}: {summary[key]}")
        self.stdout.write("\n" + rendered.body)

    def _lead(self, lead_id: str) -> dict:
        if not is_salesforce_id(lead_id):
            raise CommandError(f"{lead_id!r} is not a Salesforce id (15 or 18 characters).")
        records = get_client(workload="templates").query_ids(
            select_clause("Lead") + " WHERE Id IN ({ids})", [lead_id]
        )
        if not records:
            raise CommandError(f"No lead {lead_id} in Salesforce (or no access to it).")
        return {k: v for k, v in records[0].items() if k != "attributes"}


def _dumps(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False)
