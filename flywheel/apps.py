from django.apps import AppConfig


class FlywheelConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "flywheel"
