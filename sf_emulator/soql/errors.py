"""The error the SOQL engine raises: an error code and a message shaped like Salesforce's."""

from __future__ import annotations


class SoqlError(Exception):
    """A query Salesforce would refuse: REST turns it into a 400 ``[{errorCode, message}]``."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message

    def __repr__(self) -> str:
        return f"SoqlError({self.error_code!r}, {self.message!r})"


def located(error_code: str, message: str, *, text: str, pos: int) -> SoqlError:
    """An error pointing at ``pos`` the way Salesforce does: the line, a caret, row and column."""
    pos = max(0, min(pos, len(text)))
    row = text.count("\n", 0, pos) + 1
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start : len(text) if line_end < 0 else line_end]
    column = pos - line_start + 1
    return SoqlError(
        error_code,
        f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{message}",
    )


def malformed(message: str, *, text: str, pos: int) -> SoqlError:
    return located("MALFORMED_QUERY", message, text=text, pos=pos)
