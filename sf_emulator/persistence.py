"""Write-through SQLite persistence of the org: records, field history, write counts, sessions
and counters."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sf_emulator.values import json_default

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY, sobject TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, record_id TEXT NOT NULL, sobject TEXT NOT NULL,
    field TEXT NOT NULL, old TEXT, new TEXT, user_id TEXT, client TEXT, ts TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_record ON history (record_id);
CREATE TABLE IF NOT EXISTS writes (
    sobject TEXT NOT NULL, field TEXT NOT NULL, user_id TEXT NOT NULL, record_id TEXT NOT NULL,
    count INTEGER NOT NULL, PRIMARY KEY (sobject, field, user_id, record_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sessions (token TEXT PRIMARY KEY, user_id TEXT NOT NULL,
    issued_at REAL NOT NULL, last_used REAL NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

HistoryRow = tuple[str, str, str, object, object, str, str | None, str]
FieldWrite = tuple[str, str, str, str]  # sobject, field, user_id, record_id


class Persistence:
    """One SQLite file in the state directory; every method commits before returning."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def records(self) -> Iterator[tuple[str, dict]]:
        for sobject, data in self._db.execute("SELECT sobject, data FROM records ORDER BY rowid"):
            yield sobject, json.loads(data)

    def save(
        self,
        records: Iterable[tuple[str, str, dict]],
        history: Iterable[HistoryRow],
        writes: Iterable[FieldWrite] = (),
    ) -> None:
        """Upsert ``(id, sobject, encoded record)`` rows, append history rows and count field
        writes atomically."""
        with self._transaction():
            self._db.executemany(
                "INSERT INTO records (id, sobject, data) VALUES (?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET data = excluded.data",
                [(rid, sobject, json.dumps(data)) for rid, sobject, data in records],
            )
            self._db.executemany(
                "INSERT INTO history (record_id, sobject, field, old, new, user_id, client, ts) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (rid, sobject, field, _dump(old), _dump(new), user_id, client, ts)
                    for rid, sobject, field, old, new, user_id, client, ts in history
                ],
            )
            self._db.executemany(
                "INSERT INTO writes (sobject, field, user_id, record_id, count) "
                "VALUES (?, ?, ?, ?, 1) "
                "ON CONFLICT (sobject, field, user_id, record_id) DO UPDATE SET count = count + 1",
                writes,
            )

    def history(self, record_id: str) -> list[dict]:
        rows = self._db.execute(
            "SELECT field, old, new, user_id, client, ts FROM history WHERE record_id = ? "
            "ORDER BY seq",
            (record_id,),
        )
        return [
            {
                "field": f,
                "old": _load(o),
                "new": _load(n),
                "user_id": u,
                "client": c,
                "timestamp": t,
            }
            for f, o, n, u, c, t in rows
        ]

    def write_counts(self, sobject: str, field: str, user_id: str | None) -> dict[str, int]:
        """Writes of ``field`` per record of ``sobject`` (by ``user_id``, or by anyone)."""
        rows = self._db.execute(
            "SELECT record_id, SUM(count) FROM writes WHERE sobject = ? AND field = ? "
            "AND (? IS NULL OR user_id = ?) GROUP BY record_id",
            (sobject, field, user_id, user_id),
        )
        return dict(rows)

    def delete_except(self, keep_sobjects: Iterable[str]) -> None:
        keep = list(keep_sobjects)
        marks = ",".join("?" * len(keep))
        with self._transaction():
            self._db.execute(f"DELETE FROM records WHERE sobject NOT IN ({marks})", keep)
            self._db.execute(f"DELETE FROM history WHERE sobject NOT IN ({marks})", keep)
            self._db.execute(f"DELETE FROM writes WHERE sobject NOT IN ({marks})", keep)

    def sessions(self) -> list[tuple[str, str, float, float]]:
        return list(self._db.execute("SELECT token, user_id, issued_at, last_used FROM sessions"))

    def save_session(self, token: str, user_id: str, issued_at: float, last_used: float) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?)",
            (token, user_id, issued_at, last_used),
        )

    def delete_sessions(self, tokens: Iterable[str] | None = None) -> None:
        if tokens is None:
            self._db.execute("DELETE FROM sessions")
        else:
            self._db.executemany("DELETE FROM sessions WHERE token = ?", [(t,) for t in tokens])

    def meta_get(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def meta_set(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


def _dump(value: object) -> str | None:
    return None if value is None else json.dumps(value, default=json_default)


def _load(text: str | None) -> object:
    return None if text is None else json.loads(text)
