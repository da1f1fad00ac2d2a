"""API-usage accounting and the circuit breaker, both kept in the database for dashboards and
/healthz.

Calls are counted in memory per hour, workload and endpoint, and written in one batch every
``FLUSH_EVERY_CALLS`` calls or ``FLUSH_EVERY_SECONDS`` seconds (and on ``flush()``), so counting
does not cost a database write per call. Accounting never makes a Salesforce call fail.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from salesforce import conf
from salesforce.models import ApiUsage, OrgLimitSnapshot

logger = logging.getLogger(__name__)

SNAPSHOT_NAME = "default"
FLUSH_EVERY_CALLS = 100
FLUSH_EVERY_SECONDS = 10.0
BREAKER_RECHECK_SECONDS = 5.0

Bucket = tuple[dt.datetime, str, str]


class UsageRecorder:
    """Counts calls and errors per hourly bucket and keeps the org's latest api-usage figures."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: dict[Bucket, list[int]] = {}
        self._limit: tuple[int, int] | None = None
        self._calls = 0
        self._since = clock()

    def record(
        self, *, workload: str, endpoint: str, ok: bool, limit: tuple[int, int] | None = None
    ) -> None:
        hour = timezone.now().replace(minute=0, second=0, microsecond=0)
        with self._lock:
            counts = self._pending.setdefault((hour, workload[:40], endpoint[:40]), [0, 0])
            counts[0] += 1
            counts[1] += 0 if ok else 1
            self._limit = limit or self._limit
            self._calls += 1
            due = (
                self._calls >= FLUSH_EVERY_CALLS
                or self._clock() - self._since >= FLUSH_EVERY_SECONDS
            )
        if due:
            self.flush()

    def flush(self) -> None:
        """Write the pending counts (one insert-if-missing, one update per bucket)."""
        with self._lock:
            pending, limit = self._pending, self._limit
            self._pending, self._limit, self._calls, self._since = {}, None, 0, self._clock()
        if not pending and limit is None:
            return
        try:
            with transaction.atomic():
                _write_usage(pending, limit)
        except Exception:  # accounting must not break the call that triggered it
            logger.warning("could not store Salesforce API usage; keeping it", exc_info=True)
            self._merge_back(pending, limit)

    def discard(self) -> None:
        """Drop what is pending (tests start from a clean slate)."""
        with self._lock:
            self._pending, self._limit, self._calls, self._since = {}, None, 0, self._clock()

    def _merge_back(self, pending: dict[Bucket, list[int]], limit: tuple[int, int] | None) -> None:
        with self._lock:
            for bucket, (calls, errors) in pending.items():
                counts = self._pending.setdefault(bucket, [0, 0])
                counts[0] += calls
                counts[1] += errors
            self._limit = self._limit or limit


def _write_usage(pending: dict[Bucket, list[int]], limit: tuple[int, int] | None) -> None:
    if pending:
        ApiUsage.objects.bulk_create(
            [ApiUsage(hour=hour, workload=w, endpoint=e) for hour, w, e in pending],
            ignore_conflicts=True,
        )
        for (hour, workload, endpoint), (calls, errors) in pending.items():
            ApiUsage.objects.filter(hour=hour, workload=workload, endpoint=endpoint).update(
                calls=F("calls") + calls, errors=F("errors") + errors
            )
    if limit is not None:
        OrgLimitSnapshot.objects.update_or_create(
            name=SNAPSHOT_NAME, defaults={"api_used": limit[0], "api_max": limit[1]}
        )


class CircuitBreaker:
    """After ``SF_CIRCUIT_THRESHOLD`` consecutive failed attempts, no call goes out for
    ``SF_CIRCUIT_COOLDOWN_SECONDS``; then one call probes, and a success closes the circuit.

    The open state is stored in OrgLimitSnapshot so every process (and /healthz) sees it; each
    process re-reads it at most every ``BREAKER_RECHECK_SECONDS``.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._open_until: dt.datetime | None = None
        self._reason = ""
        self._checked_at: float | None = None

    def blocked(self) -> str | None:
        """Why no call may go out now, or None when calls may go out."""
        self._refresh()
        until = self._open_until
        if until is not None and timezone.now() < until:
            return f"{self._reason} Calls resume after {until:%Y-%m-%d %H:%M:%S} UTC."
        return None

    def record_failure(self, *, reason: str) -> None:
        with self._lock:
            self._failures += 1
            should_open = self._failures >= conf.circuit_threshold()
        if should_open:
            self.open(reason=reason)

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            was_open, self._open_until = self._open_until is not None, None
        if was_open:
            _store_circuit(open_until=None, reason="")
            logger.info("Salesforce circuit breaker closed")

    def open(self, *, reason: str) -> None:
        until = timezone.now() + dt.timedelta(seconds=conf.circuit_cooldown_seconds())
        with self._lock:
            self._open_until, self._reason = until, reason
        _store_circuit(open_until=until, reason=reason)
        logger.warning("Salesforce circuit breaker open until %s: %s", until, reason)

    def reset(self) -> None:
        """Forget this process's view; the next check reads the stored state."""
        with self._lock:
            self._failures, self._open_until, self._reason, self._checked_at = 0, None, "", None

    def _refresh(self) -> None:
        now = self._clock()
        if self._checked_at is not None and now - self._checked_at < BREAKER_RECHECK_SECONDS:
            return
        self._checked_at = now
        try:
            row = (
                OrgLimitSnapshot.objects.filter(name=SNAPSHOT_NAME)
                .values("circuit_open_until", "circuit_reason")
                .first()
            )
        except Exception:  # the breaker's own storage failing must not stop calls
            logger.warning("could not read the circuit breaker state", exc_info=True)
            return
        if row is not None:  # the stored state wins: another process may have closed it
            with self._lock:
                self._open_until, self._reason = row["circuit_open_until"], row["circuit_reason"]


def _store_circuit(*, open_until: dt.datetime | None, reason: str) -> None:
    try:
        OrgLimitSnapshot.objects.update_or_create(
            name=SNAPSHOT_NAME,
            defaults={"circuit_open_until": open_until, "circuit_reason": reason},
        )
    except Exception:  # the in-process state still protects Salesforce
        logger.warning("could not store the circuit breaker state", exc_info=True)


recorder = UsageRecorder()
breaker = CircuitBreaker()
atexit.register(recorder.flush)  # a command that ends keeps its last counts
