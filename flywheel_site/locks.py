"""Per-key locks held until the end of the current transaction.

A check-then-insert on a unique key ("is this lead routed yet? no: insert its assignment") is safe
on SQLite, whose IMMEDIATE transactions take the write lock at BEGIN, but not on PostgreSQL under
READ COMMITTED: two workers both find no row, both insert, and the second one's whole batch fails
on the unique index once the first commits. ``keys_lock`` serialises such sections per key with
PostgreSQL's transaction-level advisory locks, taken in one statement and in a fixed order so two
batches sharing several keys cannot deadlock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

from django.db import connection, transaction


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


@contextlib.contextmanager
def keys_locked(*, namespace: str, keys: Iterable[str]) -> Iterator[None]:
    """Hold the lock of every ``namespace:key`` for the block, which may call other systems (a
    read and a write to Salesforce) in between: a transaction of its own on PostgreSQL, nothing
    elsewhere. On SQLite a transaction would take the whole database's write lock at BEGIN and
    hold it through those calls, stalling every other process."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        keys_lock(namespace=namespace, keys=keys)
        yield
