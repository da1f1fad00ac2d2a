from django.apps import AppConfig


class SalesforceConfig(AppConfig):
    name = "salesforce"
    verbose_name = "Salesforce connection"
