"""Ground truth of synthetic leads (segment, region, intent) and of what reps really did.

Kept in memory for fast look-ups (the fake LLM reads it on every request) and written through to
``truth.sqlite3`` in the org's state directory so it survives restarts.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from aiohttp import web

from sf_emulator.ids import is_valid_id, to_18
from sf_emulator.textgen import LeadTruth

_SCHEMA = """
CREATE TABLE IF NOT EXISTS truth (lead_id TEXT PRIMARY KEY, origin TEXT, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS truth_event (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, lead_id TEXT NOT NULL, kind TEXT NOT NULL,
    at TEXT NOT NULL, body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS truth_event_lead ON truth_event (lead_id);
"""
# Events that are a rep's first response; the others (inbound mail, to-do tasks, assignment) are not.
RESPONSE_KINDS = frozenset({"response", "touch_before_assignment"})


class TruthStore:
    """Truth per lead id (18 characters) plus a time-ordered list of events per lead."""

    def __init__(self, *, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.executescript(_SCHEMA)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._truth: dict[str, dict[str, object]] = {}
        self._events: dict[str, list[dict[str, object]]] = {}
        self._load()

    def _load(self) -> None:
        for lead_id, body in self._db.execute("SELECT lead_id, body FROM truth"):
            self._truth[lead_id] = json.loads(body)
        for lead_id, body in self._db.execute("SELECT lead_id, body FROM truth_event ORDER BY seq"):
            self._events.setdefault(lead_id, []).append(json.loads(body))

    def record(self, *, lead_id: str, truth: LeadTruth, origin: str, created_at: datetime) -> None:
        body = {**asdict(truth), "origin": origin, "created_at": created_at.isoformat()}
        lead_id = to_18(lead_id)
        with self._lock:
            self._truth[lead_id] = body
            self._db.execute(
                "INSERT OR REPLACE INTO truth (lead_id, origin, body) VALUES (?, ?, ?)",
                (lead_id, origin, json.dumps(body)),
            )

    def add_event(self, *, lead_id: str, kind: str, at: datetime, **data: object) -> None:
        """Note what happened to a lead (assigned, response, reassigned, inbound_email...)."""
        lead_id = to_18(lead_id)
        body = {"kind": kind, "at": at.isoformat(), **data}
        with self._lock:
            self._events.setdefault(lead_id, []).append(body)
            self._db.execute(
                "INSERT INTO truth_event (lead_id, kind, at, body) VALUES (?, ?, ?, ?)",
                (lead_id, kind, body["at"], json.dumps(body)),
            )

    def truth_for(self, lead_id: str) -> dict[str, object] | None:
        """The bare truth (segment, region, intent...) of a lead, or None if not synthetic."""
        if not is_valid_id(lead_id):
            return None
        return self._truth.get(to_18(lead_id))

    def describe(self, lead_id: str) -> dict[str, object] | None:
        """Truth, events and the true first response of one lead (None if nothing is known)."""
        if not is_valid_id(lead_id):
            return None
        key = to_18(lead_id)
        truth, events = self._truth.get(key), self._events.get(key, [])
        if truth is None and not events:
            return None
        responses = sorted(
            (event for event in events if event["kind"] in RESPONSE_KINDS),
            key=lambda event: str(event["at"]),
        )
        return {
            "id": key,
            "sobject": "Lead",
            **(truth or {"origin": None}),
            "events": events,
            "first_response": responses[0] if responses else None,
        }

    def lead_ids(self) -> list[str]:
        return list(self._truth)

    def clear(self) -> None:
        with self._lock:
            self._truth.clear()
            self._events.clear()
            self._db.execute("DELETE FROM truth")
            self._db.execute("DELETE FROM truth_event")

    def close(self) -> None:
        with self._lock:
            self._db.close()


def routes(truth: TruthStore) -> list[web.RouteDef]:
    """``GET /__emulator__/truth[?ids=a,b]`` and ``GET /__emulator__/truth/Lead/<id>``."""

    async def many(request: web.Request) -> web.Response:
        raw = request.query.get("ids")
        ids = [part.strip() for part in raw.split(",") if part.strip()] if raw else truth.lead_ids()
        found = {lead_id: truth.describe(lead_id) for lead_id in ids}
        return web.json_response(
            {
                "records": [record for record in found.values() if record is not None],
                "missing": [lead_id for lead_id, record in found.items() if record is None],
            }
        )

    async def one(request: web.Request) -> web.Response:
        record = truth.describe(request.match_info["record_id"])
        if record is None:
            return web.json_response({"error": "no ground truth for this id"}, status=404)
        return web.json_response(record)

    return [
        web.get("/__emulator__/truth", many),
        web.get("/__emulator__/truth/Lead/{record_id}", one),
    ]
