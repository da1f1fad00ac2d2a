"""Which objects the org selected for Change Data Capture (Setup → Change Data Capture)."""

from __future__ import annotations

from salesforce.client import SalesforceClient

SELECTION_SOQL = "SELECT DeveloperName, SelectedEntity FROM PlatformEventChannelMember"


def cdc_selected_entities(client: SalesforceClient) -> set[str]:
    """The objects selected on the standard ``ChangeEvents`` channel, by the Tooling API
    (``Lead`` for ``ChangeEvents_LeadChangeEvent``). Raises ``SalesforceError`` when the user may
    not read the selection (it needs View Setup and Configuration)."""
    return {
        str(member.get("SelectedEntity") or "").removesuffix("ChangeEvent")
        for member in client.tooling_query(SELECTION_SOQL)
        if str(member.get("DeveloperName") or "").startswith("ChangeEvents_")
    }
