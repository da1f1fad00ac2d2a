"""What the management commands share: a progress bar on the command's stderr, date options."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import CommandError, OutputWrapper
from tqdm import tqdm


class _Raw:
    """tqdm's carriage-return updates through a command's stderr (no newline appended)."""

    def __init__(self, wrapper: OutputWrapper) -> None:
        self._wrapper = wrapper

    def write(self, text: str) -> None:
        self._wrapper.write(text, ending="")

    def flush(self) -> None:
        self._wrapper.flush()

    def isatty(self) -> bool:
        return self._wrapper.isatty()


def progress_bar(stderr: OutputWrapper, **options: object) -> tqdm:
    """A tqdm bar drawn on ``stderr`` (a command's ``self.stderr``); ``options`` go to tqdm."""
    return tqdm(file=_Raw(stderr), **options)


def day_option(value: str, *, option: str = "--since") -> dt.date:
    """A YYYY-MM-DD command option, or a CommandError that says what is expected."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option} {value!r} is not a date like 2026-01-31.") from None
