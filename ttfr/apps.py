from django.apps import AppConfig


class TtfrConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ttfr"
    verbose_name = "Time to first response"
