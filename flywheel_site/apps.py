from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SiteConfig(AppConfig):
    name = "flywheel_site"
    label = "site"
    verbose_name = "Flywheel site"

    def ready(self) -> None:
        from flywheel_site import roles, schedules

        # Each app's permissions are created by its own post_migrate signal, so group permissions
        # are synced after every app's signal (idempotent), not once after this app's.
        post_migrate.connect(roles.sync_after_migrate, dispatch_uid="flywheel-roles-sync")
        post_migrate.connect(schedules.sync_after_migrate, dispatch_uid="flywheel-schedules-sync")
