"""Checks shared by the config file loaders (``load_config``: routing policy, templates)."""

from __future__ import annotations


def nul_problem(data: object, *, path: object) -> str | None:
    """The sentence a loader refuses config file ``path`` with when ``data`` holds a NUL."""
    where = nul_location(data)
    return (
        None if where is None else f"{path} holds a NUL character (\\u0000) in {where}: remove it."
    )


def nul_location(value: object, where: str = "") -> str | None:
    """Where the first NUL character (``\\u0000``) sits in JSON data (a key or a string), as
    ``templates[0].keywords[1]``; None when there is none. PostgreSQL stores no NUL in text or
    JSON, so a file holding one is refused with this place named, instead of failing later."""
    if isinstance(value, str):
        return where or "(top level)" if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if "\x00" in str(key):
                return f"{path!r} (a key)"
            if found := nul_location(item, path):
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if found := nul_location(item, f"{where}[{index}]"):
                return found
    return None
