from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SiteConfig(AppConfig):
    name = "flywheel_site"
    label = "site"
    verbose_name = "Flywheel site"

    def ready(self) -> None:
        from flywheel_site import roles

        # Permissions exist only after every app has migrated, so group permissions are synced
        # after migrate rather than inside the data migration that creates the groups.
        post_migrate.connect(roles.sync_after_migrate, sender=self)
