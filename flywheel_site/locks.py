"""Per-key locks: ``keys_lock`` until the end of the current transaction, ``keys_locked`` for
a block that calls other systems in between.

A check-then-insert on a unique key ("is this lead routed yet? no: insert its assignment") is safe
on SQLite, whose IMMEDIATE transactions take the write lock at BEGIN, but not on PostgreSQL under
READ COMMITTED: two workers both find no row, both insert, and the second one's whole batch fails
on the unique index once the first commits. ``keys_lock`` serialises such sections per key with
PostgreSQL's transaction-level advisory locks, taken in one statement and in a fixed order so two
batches sharing several keys cannot deadlock.

``keys_locked`` holds its keys through a block that reads and writes Salesforce (a first
response: two workers reading the same lead's old value would both write the new one). On
PostgreSQL: advisory locks in a transaction of its own. On SQLite a transaction would take the
whole database's write lock and hold it through the HTTP calls, so the keys are claimed instead:
``KeyClaim`` rows taken all at once in one short transaction (or none, then retried), removed
when the block ends. A claim whose holder process is gone (a killed worker on this host) is
taken over at once; one older than ``CLAIM_STALE_SECONDS`` whatever its holder.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Iterator

from django.db import connection, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

CLAIM_WAIT_SECONDS = 20.0  # then the block runs without the claims it could not get (logged)
CLAIM_POLL_SECONDS = 0.05
CLAIM_STALE_SECONDS = 600.0


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
    read and a write to Salesforce) in between. Waiting for a key another worker holds ends
    after ``CLAIM_WAIT_SECONDS`` on SQLite: the block then runs anyway (what the locks prevent
    is a repeated write of the same value, never a lost one)."""
    if connection.vendor == "postgresql":
        with transaction.atomic():
            keys_lock(namespace=namespace, keys=keys)
            yield
    else:
        with keys_claimed(namespace=namespace, keys=keys):
            yield


@contextlib.contextmanager
def keys_claimed(*, namespace: str, keys: Iterable[str]) -> Iterator[None]:
    """``keys_locked`` without a transaction: ``KeyClaim`` rows (any database; SQLite's way)."""
    names = sorted({f"{namespace}:{key}"[:200] for key in keys})
    holder = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{uuid.uuid4().hex[:8]}"
    holder = holder[:160]  # KeyClaim.holder's length
    deadline = time.monotonic() + CLAIM_WAIT_SECONDS
    while names and not _claims_take(names, holder=holder):
        if time.monotonic() >= deadline:
            logger.warning(
                "%s key(s) of %s still claimed by another worker after %.0f s: going on without",
                len(names),
                namespace,
                CLAIM_WAIT_SECONDS,
            )
            break
        time.sleep(CLAIM_POLL_SECONDS * random.uniform(0.5, 1.5))
    try:
        yield
    finally:
        _claims_release(holder)


@transaction.atomic
def _claims_take(names: list[str], *, holder: str) -> bool:
    """Claim every name, or none when a live holder has any of them (all or none, so two
    workers wanting overlapping keys never each hold a part and wait for the other)."""
    from flywheel_site.models import KeyClaim

    held = list(KeyClaim.objects.filter(key__in=names).values_list("key", "holder", "claimed_at"))
    if held:
        gone = [key for key, who, claimed_at in held if _holder_gone(who, claimed_at)]
        if len(gone) < len(held):
            return False
        KeyClaim.objects.filter(key__in=gone).delete()
    now = timezone.now()
    # SQLite's IMMEDIATE transaction makes the check and the insert one step; elsewhere another
    # worker may insert in between: its rows stand, and this call takes none.
    claims = [KeyClaim(key=n, holder=holder, claimed_at=now) for n in names]
    KeyClaim.objects.bulk_create(claims, ignore_conflicts=True)
    if KeyClaim.objects.filter(key__in=names, holder=holder).count() == len(names):
        return True
    KeyClaim.objects.filter(key__in=names, holder=holder).delete()
    return False


def _claims_release(holder: str) -> None:
    from flywheel_site.models import KeyClaim

    KeyClaim.objects.filter(holder=holder).delete()


def _holder_gone(holder: str, claimed_at: dt.datetime) -> bool:
    """A holder on this host whose process has ended, or any claim older than the stale age."""
    if timezone.now() - claimed_at > dt.timedelta(seconds=CLAIM_STALE_SECONDS):
        return True
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    try:  # a killed worker not yet reaped by its parent is a zombie: gone all the same
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rpartition(")")[2].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False
