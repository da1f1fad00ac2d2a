from django.apps import AppConfig


class FlywheelConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "flywheel"

    def ready(self) -> None:
        from flywheel.learning import admin as learning_admin  # noqa: F401  (registers the admin)
        from flywheel.learning.serving import serving_install

        serving_install()
