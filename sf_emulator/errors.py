"""The error every layer of the emulator raises for a Salesforce-shaped failure."""

from __future__ import annotations


class SalesforceError(Exception):
    """A failure Salesforce reports as ``[{"message", "errorCode", "fields"}]`` with ``status``."""

    def __init__(
        self, status: int, error_code: str, message: str, fields: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = list(fields or [])

    def as_dict(self) -> dict[str, object]:
        return {"message": self.message, "errorCode": self.error_code, "fields": self.fields}

    def as_status_dict(self) -> dict[str, object]:
        """The shape used inside composite and action results (``statusCode`` not ``errorCode``)."""
        return {"statusCode": self.error_code, "message": self.message, "fields": self.fields}
