from django.contrib import admin
from django.utils.html import format_html, linebreaks

from templates_app.models import EmailTemplate, TemplateSuggestion
from templates_app.rendering import KNOWN_VARIABLES, SAMPLE_LEAD, render


@admin.register(EmailTemplate)
class EmailTemplateAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "intent",
        "language",
        "active",
        "auto_send",
        "auto_send_threshold",
        "updated_at",
    )
    list_filter = ("intent", "active", "auto_send", "language")
    search_fields = ("name", "subject", "body")
    readonly_fields = ("variables_help", "preview")
    fieldsets = (
        (None, {"fields": ("name", "intent", "language", "active")}),
        ("Content", {"fields": ("subject", "body", "variables_help", "keywords")}),
        ("Automatic sending", {"fields": ("auto_send", "auto_send_threshold")}),
        ("Preview with a sample lead", {"fields": ("preview",)}),
    )

    @admin.display(description="Variables")
    def variables_help(self, obj: EmailTemplate) -> str:
        items = ", ".join(f"{{{{ {name} }}}}" for name in KNOWN_VARIABLES)
        return f'{items}. Defaults: {{{{ FirstName|default:"there" }}}}.'

    @admin.display(description="Preview")
    def preview(self, obj: EmailTemplate) -> str:
        if not obj.pk:
            return "Save the template to see a preview."
        rendered = render(subject=obj.subject, body=obj.body, values=SAMPLE_LEAD)
        return format_html(
            "<strong>{}</strong>{}", rendered.subject, linebreaks(rendered.body, autoescape=True)
        )


@admin.register(TemplateSuggestion)
class TemplateSuggestionAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "lead_id",
        "company",
        "intent",
        "confidence",
        "decided_by",
        "status",
    )
    list_filter = ("intent", "status", "decided_by")
    search_fields = ("lead_id", "company", "lead_name")
    list_select_related = ("template",)
    readonly_fields = [field.name for field in TemplateSuggestion._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
