from django.apps import AppConfig


class SalesforceConfig(AppConfig):
    name = "salesforce"
    verbose_name = "Salesforce connection"

    def ready(self) -> None:
        from django_q.signals import post_spawn

        from salesforce.workloads import workloads_warm

        post_spawn.connect(workloads_warm, dispatch_uid="salesforce.workloads_warm")
