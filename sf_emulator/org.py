"""One emulated org: its store, seed users and queues, OAuth sessions, limits, faults and stats."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sf_emulator.certs import Credentials, ensure_credentials
from sf_emulator.faults import Faults
from sf_emulator.ids import IdFactory, to_18
from sf_emulator.persistence import Persistence
from sf_emulator.stats import ApiUsage, Stats
from sf_emulator.store import Store

SEED_FILE = Path(__file__).resolve().parent.parent / "config" / "org_seed.json"
ORG_ID = to_18("00D5f0000000001")
DB_FILE = "org.sqlite3"
DEFAULT_SESSION_TIMEOUT = dt.timedelta(hours=2)
DEFAULT_DAILY_LIMIT = 1_000_000


class EventStream(Protocol):
    """What the org sees of the streaming feature (``sf_emulator.cdc.EventLog``) when installed."""

    def apply_faults(self, faults: Mapping[str, object]) -> dict[str, object]: ...

    def reset_faults(self) -> None: ...

    def stats(self) -> dict[str, object]: ...


@dataclass
class Session:
    token: str
    user_id: str
    issued_at: dt.datetime
    last_used: dt.datetime
    expires_at: dt.datetime


class Sessions:
    """OAuth access tokens; a session ends after ``timeout`` without use (like an org's timeout)."""

    def __init__(
        self, *, db: Persistence, clock: Callable[[], dt.datetime], timeout: dt.timedelta
    ) -> None:
        self._db = db
        self._clock = clock
        self.timeout = timeout
        self._sessions: dict[str, Session] = {}
        for token, user_id, issued, used in db.sessions():
            self._remember(token, user_id, _from_epoch(issued), _from_epoch(used))

    def issue(self, *, user_id: str) -> Session:
        token = f"{ORG_ID[:15]}!AQ{secrets.token_urlsafe(72)}"
        now = self._clock()
        expired = [t for t, s in self._sessions.items() if s.expires_at <= now]
        for stale in expired:
            del self._sessions[stale]
        self._db.delete_sessions(expired)
        self._db.save_session(token, user_id, now.timestamp(), now.timestamp())
        return self._remember(token, user_id, now, now)

    def validate(self, token: str) -> Session | None:
        """The live session for ``token`` (its idle timer restarts), or None."""
        session = self._sessions.get(token)
        now = self._clock()
        if session is None or now >= session.expires_at:
            return None
        if (now - session.last_used).total_seconds() > 60:
            self._db.save_session(
                token, session.user_id, session.issued_at.timestamp(), now.timestamp()
            )
        session.last_used = now
        session.expires_at = now + self.timeout
        return session

    def expire_all(self) -> None:
        self._sessions.clear()
        self._db.delete_sessions()

    def _remember(
        self, token: str, user_id: str, issued: dt.datetime, used: dt.datetime
    ) -> Session:
        session = Session(token, user_id, issued, used, used + self.timeout)
        self._sessions[token] = session
        return session


def _from_epoch(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Org:
    """Everything one running emulator serves (stored as ``app["org"]``)."""

    state_dir: Path
    seed: int = 0
    session_timeout: dt.timedelta = DEFAULT_SESSION_TIMEOUT
    daily_api_limit: int = DEFAULT_DAILY_LIMIT
    api_latency_ms: int = 0
    login_url: str = ""
    instance_url: str = ""
    clock: Callable[[], dt.datetime] = _utc_now
    events: EventStream | None = None
    truth: object | None = None
    traffic: object | None = None
    reset_hooks: list[Callable[[], None]] = field(default_factory=list)
    connection_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.credentials: Credentials = ensure_credentials(state_dir=self.state_dir)
        self.ids = IdFactory()
        self.store = Store(path=self.state_dir / DB_FILE, ids=self.ids, clock=lambda: self.clock())
        self.sessions = Sessions(
            db=self.store.persistence, clock=lambda: self.clock(), timeout=self.session_timeout
        )
        seed = json.loads(SEED_FILE.read_text())
        self.integration_user: dict = seed["integration_user"]
        self.integration_user_id: str = self.integration_user["id"]
        self.users: list[dict] = seed["users"]
        self.queues: list[dict] = seed["queues"]
        self.faults = Faults(seed=self.seed)
        self.stats = Stats()
        self.usage = ApiUsage(limit=self.daily_api_limit, clock=lambda: self.clock())
        self._seed_org()

    @property
    def org_id(self) -> str:
        return ORG_ID

    def user_by_username(self, username: str) -> dict | None:
        for user in self.store.rows("User"):
            if str(user["Username"]).lower() == username.lower():
                return user
        return None

    def default_sales_user_id(self) -> str:
        return self.users[0]["id"]

    def reset(self) -> None:
        """Empty the org (seed users and queues stay), counters and faults included."""
        self.store.clear()
        self.stats.reset()
        self.usage.reset()
        self.faults.clear()
        for hook in self.reset_hooks:
            hook()

    def _seed_org(self) -> None:
        system_user = self.integration_user_id
        people = [{**self.integration_user, "team": None, "time_zone": "UTC"}, *self.users]
        for person in people:
            if self.store.get("User", person["id"]) is None:
                self.store.create(
                    "User",
                    {
                        "Id": person["id"],
                        "Username": person["username"],
                        "FirstName": person["first_name"],
                        "LastName": person["last_name"],
                        "Email": person["email"],
                        "Department": person.get("team"),
                        "TimeZoneSidKey": person.get("time_zone"),
                        "ManagerId": person.get("manager"),
                    },
                    user_id=system_user,
                    system=True,
                )
        for queue in self.queues:
            if self.store.get("Group", queue["id"]) is None:
                self.store.create(
                    "Group",
                    {
                        "Id": queue["id"],
                        "Name": queue["name"],
                        "DeveloperName": queue["developer_name"],
                        "Type": "Queue",
                    },
                    user_id=system_user,
                    system=True,
                )
