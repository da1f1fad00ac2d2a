"""API call counters (control API stats) and the org's rolling 24-hour API usage."""

from __future__ import annotations

import datetime as dt
from collections import Counter, deque
from collections.abc import Callable

_WINDOW = dt.timedelta(hours=24)


class Stats:
    """API calls total, by endpoint and by user, and responses by status."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.total = 0
        self.by_endpoint: Counter[str] = Counter()
        self.by_user: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()

    def record(self, *, endpoint: str, user_id: str | None, status: int) -> None:
        self.total += 1
        self.by_endpoint[endpoint] += 1
        self.by_user[user_id or "anonymous"] += 1
        self.by_status[str(status)] += 1

    def snapshot(self) -> dict[str, object]:
        return {
            "total": self.total,
            "by_endpoint": dict(self.by_endpoint),
            "by_user": dict(self.by_user),
            "by_status": dict(self.by_status),
        }


class ApiUsage:
    """Daily API requests over a rolling 24 hours, in one-minute buckets."""

    def __init__(self, *, limit: int, clock: Callable[[], dt.datetime]) -> None:
        self.limit = limit
        self._clock = clock
        self._buckets: deque[list] = deque()

    def reset(self) -> None:
        self._buckets.clear()

    def used(self) -> int:
        self._expire()
        return sum(count for _, count in self._buckets)

    def try_consume(self) -> bool:
        """Count one request; False (and not counted) when the limit is already reached."""
        if self.used() >= self.limit:
            return False
        self._add(1)
        return True

    def exhaust(self) -> None:
        self._add(max(0, self.limit - self.used()))

    def header(self) -> str:
        return f"api-usage={self.used()}/{self.limit}"

    def _add(self, count: int) -> None:
        minute = self._clock().replace(second=0, microsecond=0)
        if self._buckets and self._buckets[-1][0] == minute:
            self._buckets[-1][1] += count
        else:
            self._buckets.append([minute, count])

    def _expire(self) -> None:
        horizon = self._clock() - _WINDOW
        while self._buckets and self._buckets[0][0] <= horizon:
            self._buckets.popleft()
