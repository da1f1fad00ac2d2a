"""Per-key locks held until the end of the current transaction.

A check-then-insert on a unique key ("is this lead routed yet? no: insert its assignment") is safe
on SQLite, whose IMMEDIATE transactions take the write lock at BEGIN, but not on PostgreSQL under
READ COMMITTED: two workers both find no row, both insert, and the second one's whole batch fails
on the unique index once the first commits. ``keys_lock`` serialises such sections per key with
PostgreSQL's transaction-level advisory locks, taken in one statement and in a fixed order so two
batches sharing several keys cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection


def keys_lock(*, namespace: str, keys: Iterable[str]) -> None:
    """Block until this transaction holds the lock of every ``namespace:key``; a no-op outside
    PostgreSQL (SQLite serialises writing transactions already)."""
    if connection.vendor != "postgresql":
        return
    names = sorted({f"{namespace}:{key}" for key in keys})
    if not names:
        return
    if not connection.in_atomic_block:
        raise RuntimeError("keys_lock needs a transaction: the locks last until it ends.")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(hashtextextended(name, 0)))"
            " FROM (SELECT unnest(%s::text[]) AS name ORDER BY 1) AS ordered",
            [names],
        )
