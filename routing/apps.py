from django.apps import AppConfig

CORRECTION_LABEL = "Write the corrected owner to the lead in Salesforce"


def owner_correction_hook(*, decision_id: int, corrected_output: dict) -> str:
    """The review queue's correction hook for routing: push the corrected owner to the lead."""
    from routing.services.owners import owner_correction_push
    from salesforce.client import get_client

    written = owner_correction_push(
        decision_id=decision_id,
        corrected_output=corrected_output,
        client=get_client(workload="routing"),
    )
    owner = (corrected_output or {}).get("owner_id") or "no owner"
    if written:
        return f"Owner {owner} written to the lead in Salesforce."
    return f"Nothing written: the lead has no routing record or is already owned by {owner}."


class RoutingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "routing"

    def ready(self) -> None:
        from flywheel.hooks import correction_hook_register
        from routing.prompt import WORKLOAD

        correction_hook_register(
            workload=WORKLOAD, hook=owner_correction_hook, label=CORRECTION_LABEL
        )
