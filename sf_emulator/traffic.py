"""Synthetic inbound leads at a rate, and sales reps who answer them the way people do.

Leads are written through the store like any human write (so they fire CDC). When the integration
user gives a lead to a rep, the rep answers after a heavy-tailed, business-hours-aware delay,
compressed by ``time_scale`` (60 = one simulated minute per real second). Some reps never answer,
some touch a lead before it is assigned, some hand it to a colleague; inbound mail and to-do tasks
add records that are not responses. Everything that happened is written to the ground truth.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from sf_emulator import truth as truth_module
from sf_emulator.changes import RecordChange
from sf_emulator.ids import to_18
from sf_emulator.textgen import LeadFactory, SyntheticLead

log = logging.getLogger(__name__)
TRUTH_FILE = "truth.sqlite3"
_WEB_SOURCES = frozenset(("Web", "Webinar", "Purchased List", "Other"))
_MAX_BURST = 200
Scheduler = Callable[[float, Callable[[], None]], None]


@dataclass(frozen=True)
class Behaviour:
    """How reps behave; rates are per assignment, delays in simulated minutes."""

    time_scale: float = 60.0
    business_hours: bool = True
    median_delay_minutes: float = 25.0
    delay_sigma: float = 1.3
    never_rate: float = 0.10
    touch_before_rate: float = 0.05
    reassign_rate: float = 0.05
    inbound_rate: float = 0.15
    todo_rate: float = 0.10


def response_delay(
    *, rep: dict, start: dt.datetime, rnd: random.Random, behaviour: Behaviour
) -> dt.timedelta:
    """Simulated time until ``rep`` answers: log-normal work minutes, within working hours."""
    minutes = math.exp(rnd.gauss(math.log(behaviour.median_delay_minutes), behaviour.delay_sigma))
    minutes = min(minutes, 3 * 24 * 60)
    if not behaviour.business_hours:
        return dt.timedelta(minutes=minutes)
    return after_working_minutes(rep=rep, start=start, minutes=minutes) - start


def after_working_minutes(*, rep: dict, start: dt.datetime, minutes: float) -> dt.datetime:
    """The instant ``minutes`` of the rep's working time have passed since ``start``."""
    zone = ZoneInfo(rep.get("time_zone") or "UTC")
    hours = rep.get("working_hours") or {"start": "09:00", "end": "17:00", "days": [0, 1, 2, 3, 4]}
    opens, closes = dt.time.fromisoformat(hours["start"]), dt.time.fromisoformat(hours["end"])
    local, remaining = start.astimezone(zone), dt.timedelta(minutes=minutes)
    for _ in range(60):
        day_open = dt.datetime.combine(local.date(), opens, tzinfo=zone)
        day_close = dt.datetime.combine(local.date(), closes, tzinfo=zone)
        if local.weekday() in hours["days"] and local < day_close:
            local = max(local, day_open)
            if local + remaining <= day_close:
                return (local + remaining).astimezone(dt.UTC)
            remaining -= day_close - local
        local = dt.datetime.combine(local.date() + dt.timedelta(days=1), opens, tzinfo=zone)
    return local.astimezone(dt.UTC)


class Activities:
    """What reps do to leads: answer, plan, hand over; live (scheduled) or in the past."""

    def __init__(self, *, org: Any, truth: truth_module.TruthStore, schedule: Scheduler) -> None:
        self._org = org
        self._truth = truth
        self._schedule = schedule
        self.behaviour = Behaviour()
        self._reps = {user["id"]: user for user in org.users}
        self._teams: dict[str, list[str]] = {}
        for user in org.users:
            self._teams.setdefault(user.get("team") or "", []).append(user["id"])

    def intake_queue_id(self) -> str | None:
        for queue in self._org.queues:
            if queue.get("developer_name") == "Lead_Triage":
                return str(queue["id"])
        return None

    def creator(self, *, rnd: random.Random, region: str, web: bool) -> str:
        """Web forms come in as the default lead user; calls and events as a rep of the region."""
        if web:
            return str(self._org.default_sales_user_id())
        return rnd.choice(self._teams.get(region) or list(self._reps))

    def colleague(self, *, rnd: random.Random, region: object, rep_id: str) -> str:
        """Who a rep hands a lead to: someone in the lead's true region team, else their own."""
        team = self._teams.get(str(region)) or self._teams.get(
            self._reps[rep_id].get("team") or "", []
        )
        return rnd.choice([rid for rid in team if rid != rep_id] or list(self._reps))

    def assigned(self, *, lead_id: str, rep_id: str) -> None:
        """The app gave ``lead_id`` to ``rep_id``: plan what that person will do."""
        if rep_id not in self._reps:
            return
        now = self._org.clock()
        self._truth.add_event(lead_id=lead_id, kind="assigned", at=now, user_id=rep_id)
        rnd = random.Random(f"{self._org.seed}:{lead_id}:{rep_id}")
        scale, roll = self.behaviour.time_scale, rnd.random()
        if rnd.random() < self.behaviour.todo_rate:
            delay = rnd.uniform(30, 300) / scale
            self._schedule(delay, lambda: self.todo(lead_id=lead_id, rep_id=rep_id))
        if roll < self.behaviour.never_rate:
            self._truth.add_event(lead_id=lead_id, kind="never_respond", at=now, user_id=rep_id)
            return
        if roll < self.behaviour.never_rate + self.behaviour.reassign_rate:
            region = (self._truth.truth_for(lead_id) or {}).get("region")
            target = self.colleague(rnd=rnd, region=region, rep_id=rep_id)
            delay = rnd.uniform(2, 20) * 60 / scale
            self._schedule(delay, lambda: self.reassign(lead_id=lead_id, rep_id=rep_id, to=target))
            return
        self._plan_response(lead_id=lead_id, rep_id=rep_id, rnd=rnd)

    def _plan_response(self, *, lead_id: str, rep_id: str, rnd: random.Random) -> None:
        rep, kind = self._reps[rep_id], rnd.choice(("Call", "Call", "Email", "EmailMessage"))
        delay = response_delay(rep=rep, start=self._org.clock(), rnd=rnd, behaviour=self.behaviour)
        self._schedule(
            delay.total_seconds() / self.behaviour.time_scale,
            lambda: self.respond(lead_id=lead_id, rep_id=rep_id, kind=kind),
        )

    def reassign(self, *, lead_id: str, rep_id: str, to: str) -> None:
        """A rep hands the lead to a colleague by hand (a human OwnerId change)."""
        lead = self._org.store.get("Lead", lead_id)
        if lead is None or lead["OwnerId"] != rep_id:
            return
        self._org.store.update("Lead", lead_id, {"OwnerId": to}, user_id=rep_id)
        at = self._org.clock()
        self._truth.add_event(lead_id=lead_id, kind="reassigned", at=at, user_id=rep_id, to=to)
        self._plan_response(lead_id=lead_id, rep_id=to, rnd=random.Random(f"{lead_id}:{to}"))

    def respond(
        self,
        *,
        lead_id: str,
        rep_id: str,
        kind: str,
        first: bool = False,
        at: dt.datetime | None = None,
    ) -> None:
        """The rep calls or emails the lead (``first``: before any assignment)."""
        lead = self._org.store.get("Lead", lead_id)
        if lead is None or (at is None and not first and lead["OwnerId"] != rep_id):
            return
        when = at or self._org.clock()
        stamps = _stamps(at)
        if kind == "EmailMessage":
            activity_id = self._email(lead=lead, rep_id=rep_id, incoming=False, at=at)
        else:
            task = {
                "WhoId": lead_id,
                "OwnerId": rep_id,
                "Subject": "Call" if kind == "Call" else "Email: Re: your inquiry",
                "TaskSubtype": kind,
                "Type": kind,
                "Status": "Completed",
                **({"CompletedDateTime": at.isoformat()} if at else {}),
                **stamps,
            }
            activity_id = self._org.store.create(
                "Task", task, user_id=rep_id, system=at is not None
            )
        self._truth.add_event(
            lead_id=lead_id,
            kind="touch_before_assignment" if first else "response",
            at=when,
            user_id=rep_id,
            activity=kind,
            activity_id=activity_id,
        )

    def inbound_email(self, *, lead_id: str, at: dt.datetime | None = None) -> None:
        """The prospect writes again: an incoming message, which is no response."""
        lead = self._org.store.get("Lead", lead_id)
        if lead is None:
            return
        owner = str(lead["OwnerId"])
        user = owner if owner in self._reps else str(self._org.default_sales_user_id())
        email_id = self._email(lead=lead, rep_id=user, incoming=True, at=at)
        when = at or self._org.clock()
        self._truth.add_event(lead_id=lead_id, kind="inbound_email", at=when, activity_id=email_id)

    def todo(self, *, lead_id: str, rep_id: str, at: dt.datetime | None = None) -> None:
        """A planned follow-up (Not Started), which is no response either."""
        if self._org.store.get("Lead", lead_id) is None:
            return
        when = at or self._org.clock()
        task_seed = f"{lead_id}:todo"
        task = {
            "WhoId": lead_id,
            "OwnerId": rep_id,
            "Subject": "Follow up",
            "TaskSubtype": random.Random(task_seed).choice(("Task", "Call")),
            "Status": "Not Started",
            "ActivityDate": (when + dt.timedelta(days=2)).date().isoformat(),
            **_stamps(at),
        }
        task_id = self._org.store.create("Task", task, user_id=rep_id, system=at is not None)
        self._truth.add_event(lead_id=lead_id, kind="todo_task", at=when, activity_id=task_id)

    def _email(self, *, lead: dict, rep_id: str, incoming: bool, at: dt.datetime | None) -> str:
        rep_email = self._reps.get(rep_id, {}).get("email", "sales@flywheel.demo")
        lead_email = lead.get("Email") or "unknown@example.com"
        sender, receiver = (lead_email, rep_email) if incoming else (rep_email, lead_email)
        message = {
            "Incoming": incoming,
            "Status": "0" if incoming else "3",
            "MessageDate": (at or self._org.clock()).isoformat(),
            "FromAddress": sender,
            "ToAddress": receiver,
            "Subject": "Re: your inquiry" if not incoming else "Following up on my request",
            "TextBody": "Thanks for reaching out." if not incoming else "Any news?",
            **_stamps(at),
        }
        system = at is not None
        email_id = self._org.store.create("EmailMessage", message, user_id=rep_id, system=system)
        relation = {
            "EmailMessageId": email_id,
            "RelationId": lead["Id"],
            "RelationType": "FromAddress" if incoming else "ToAddress",
            "RelationAddress": lead_email,
            **_stamps(at),
        }
        self._org.store.create("EmailMessageRelation", relation, user_id=rep_id, system=system)
        return email_id

    def history_lead(
        self, *, synthetic: SyntheticLead, at: dt.datetime, now: dt.datetime, rnd: random.Random
    ) -> str:
        """A lead created at ``at``, assigned minutes later, with what its reps did until ``now``."""
        region = synthetic.truth.region
        team = self._teams.get(region)
        creator = self.creator(rnd=rnd, region=region, web=True)
        assigned_at = at + dt.timedelta(seconds=rnd.uniform(20, 300))
        owner = rnd.choice(team) if team else self.intake_queue_id()
        roll = rnd.random()
        reassign_to = None
        if (
            team
            and owner
            and self.behaviour.never_rate
            <= roll
            < (self.behaviour.never_rate + self.behaviour.reassign_rate)
        ):
            reassign_to = self.colleague(rnd=rnd, region=region, rep_id=owner)
        fields = {
            **synthetic.fields,
            "OwnerId": reassign_to or owner,
            "CreatedDate": at.isoformat(),
            "LastModifiedDate": assigned_at.isoformat(),
            "LastModifiedById": owner if reassign_to else self._org.integration_user_id,
        }
        lead_id = self._org.store.create("Lead", fields, user_id=creator, system=True)
        self._truth.record(lead_id=lead_id, truth=synthetic.truth, origin="history", created_at=at)
        if not team or not owner:
            return lead_id
        self._truth.add_event(lead_id=lead_id, kind="assigned", at=assigned_at, user_id=owner)
        responder, start = owner, assigned_at
        if reassign_to:
            start = assigned_at + dt.timedelta(minutes=rnd.uniform(2, 20))
            event = {"user_id": owner, "to": reassign_to}
            self._truth.add_event(lead_id=lead_id, kind="reassigned", at=start, **event)
            responder = reassign_to
        if rnd.random() < self.behaviour.inbound_rate:
            self.inbound_email(lead_id=lead_id, at=at + dt.timedelta(minutes=rnd.uniform(1, 30)))
        if rnd.random() < self.behaviour.todo_rate:
            self.todo(lead_id=lead_id, rep_id=responder, at=start + dt.timedelta(minutes=1))
        if roll < self.behaviour.never_rate:
            self._truth.add_event(lead_id=lead_id, kind="never_respond", at=start, user_id=owner)
            return lead_id
        delay = response_delay(
            rep=self._reps[responder], start=start, rnd=rnd, behaviour=self.behaviour
        )
        if start + delay < now:
            kind = rnd.choice(("Call", "Call", "Email", "EmailMessage"))
            self.respond(lead_id=lead_id, rep_id=responder, kind=kind, at=start + delay)
        return lead_id


def _stamps(at: dt.datetime | None) -> dict[str, object]:
    """System timestamps for a record written in the past (history mode)."""
    if at is None:
        return {}
    return {"CreatedDate": at.isoformat(), "LastModifiedDate": at.isoformat()}


@dataclass
class TrafficStatus:
    running: bool = False
    leads_per_min: float = 0.0
    respond: bool = False
    seed: int = 0
    leads_created: int = 0
    history_leads: int = 0
    assignments_seen: int = 0


class Traffic:
    """The generator of one org: ``start()``, ``stop()``, ``generate_history()``, ``status()``."""

    def __init__(self, *, org: Any, truth: truth_module.TruthStore) -> None:
        self._org = org
        self._truth = truth
        self._state = TrafficStatus(seed=org.seed)
        self._behaviour = Behaviour()
        self._activities = Activities(org=org, truth=truth, schedule=self._schedule)
        self._factory = LeadFactory(seed=org.seed)
        self._gaps = random.Random(org.seed)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._emitter: asyncio.Task[None] | None = None
        self._timers: set[asyncio.TimerHandle] = set()
        self._pending: dict[str, Any] | None = None
        org.store.subscribe(self._on_change)

    # ---- control -----------------------------------------------------------------------------
    def start(
        self,
        *,
        leads_per_min: float,
        respond: bool = True,
        seed: int | None = None,
        **behaviour: Any,
    ) -> dict[str, object]:
        """Start or adjust: ``leads_per_min`` new leads (0 = responders only), reps answering.

        Callable before the event loop runs (``serve --traffic``): it then starts at app startup.
        ``behaviour`` overrides any ``Behaviour`` field (``time_scale``, ``never_rate``...).
        """
        self._behaviour = replace(self._behaviour, **behaviour)
        self._activities.behaviour = self._behaviour
        if seed is not None and seed != self._state.seed:
            self._factory, self._gaps = LeadFactory(seed=seed), random.Random(seed)
            self._state.seed = seed
        self._state.leads_per_min = max(0.0, float(leads_per_min))
        self._state.respond = respond
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._pending = {"leads_per_min": leads_per_min, "respond": respond}
            return self.status()
        self._restart_emitter()
        return self.status()

    def stop(self) -> dict[str, object]:
        """Stop new leads and cancel every pending rep action."""
        if self._emitter is not None:
            self._emitter.cancel()
            self._emitter = None
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        self._pending = None
        self._state.running = False
        self._state.respond = False
        self._state.leads_per_min = 0.0
        return self.status()

    def reset(self) -> None:
        """Org reset: stop, forget the ground truth and start the lead stream over."""
        self.stop()
        self._truth.clear()
        self._state = TrafficStatus(seed=self._org.seed)
        self._behaviour = Behaviour()
        self._activities.behaviour = self._behaviour
        self._factory, self._gaps = LeadFactory(seed=self._org.seed), random.Random(self._org.seed)

    def status(self) -> dict[str, object]:
        return {
            **asdict(self._state),
            "pending_actions": len(self._timers),
            "behaviour": asdict(self._behaviour),
            "truth_leads": len(self._truth.lead_ids()),
        }

    async def on_startup(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self.start(**pending)

    # ---- leads -------------------------------------------------------------------------------
    def create_lead(self) -> str:
        """One synthetic lead now, created as a web form or a rep would; returns its id."""
        synthetic = self._factory.lead()
        rnd = random.Random(f"{self._state.seed}:lead:{self._state.leads_created}")
        touch = rnd.random() < self._behaviour.touch_before_rate
        source = str(synthetic.fields["LeadSource"])
        web_form = source in _WEB_SOURCES and not touch
        creator = self._activities.creator(rnd=rnd, region=synthetic.truth.region, web=web_form)
        fields = {**synthetic.fields, "OwnerId": self._activities.intake_queue_id()}
        lead_id = self._org.store.create("Lead", fields, user_id=creator)
        self._state.leads_created += 1
        now = self._org.clock()
        self._truth.record(lead_id=lead_id, truth=synthetic.truth, origin="traffic", created_at=now)
        if touch:
            self._activities.respond(lead_id=lead_id, rep_id=creator, kind="Call", first=True)
        if rnd.random() < self._behaviour.inbound_rate:
            delay = rnd.uniform(60, 1800) / self._behaviour.time_scale
            self._schedule(delay, lambda: self._activities.inbound_email(lead_id=lead_id))
        return lead_id

    async def generate_history(
        self, *, days: int, leads_per_day: int, seed: int | None = None
    ) -> dict[str, object]:
        """Past leads over ``days`` days with their owners, responses and noise, all at once."""
        base = self._state.seed if seed is None else seed
        factory, rnd = LeadFactory(seed=base * 7919 + 1), random.Random(f"history:{base}")
        now = self._org.clock()
        start = now - dt.timedelta(days=days)
        created = 0
        for _ in range(days * leads_per_day):
            at = start + dt.timedelta(seconds=rnd.uniform(0, days * 86400 - 600))
            self._activities.history_lead(synthetic=factory.lead(), at=at, now=now, rnd=rnd)
            created += 1
            if created % 25 == 0:
                await asyncio.sleep(0)
        self._state.history_leads += created
        return {"created": created, "days": days, "leads_per_day": leads_per_day}

    def _restart_emitter(self) -> None:
        if self._emitter is not None:
            self._emitter.cancel()
        self._emitter = None
        self._state.running = self._state.leads_per_min > 0 or self._state.respond
        if self._state.leads_per_min > 0 and self._loop is not None:
            self._emitter = self._loop.create_task(self._emit())

    async def _emit(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            now = loop.time()
            burst = 0
            while next_at <= now and burst < _MAX_BURST:
                try:
                    self.create_lead()
                except Exception:
                    log.exception("synthetic lead creation failed")
                next_at += self._gaps.expovariate(self._state.leads_per_min / 60.0)
                burst += 1
            next_at = max(next_at, now - 5.0)
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    # ---- reps --------------------------------------------------------------------------------
    def _on_change(self, change: RecordChange) -> None:
        """Store subscriber (runs inside the store's commit): hand assignments to the loop."""
        if (
            change.entity != "Lead"
            or change.change_type != "UPDATE"
            or "OwnerId" not in change.changed_fields
            or change.user_id != self._org.integration_user_id
            or not self._state.respond
            or self._loop is None
        ):
            return
        owner = str(change.fields.get("OwnerId") or "")
        if owner.startswith("005"):
            self._state.assignments_seen += 1
            lead_id = to_18(change.record_id)
            self._loop.call_soon_threadsafe(
                lambda: self._activities.assigned(lead_id=lead_id, rep_id=owner)
            )

    def _schedule(self, delay_s: float, action: Callable[[], None]) -> None:
        if self._loop is None:
            return

        def fire() -> None:
            self._timers.discard(handle)
            try:
                action()
            except Exception:
                log.exception("simulated rep action failed")

        handle = self._loop.call_later(max(0.0, delay_s), fire)
        self._timers.add(handle)


def _body_number(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{key} must be a non-negative number")
    return float(value)


def _body_seed(body: dict[str, Any]) -> int | None:
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError("seed must be an integer")
    return seed


def _behaviour_overrides(body: dict[str, Any]) -> dict[str, Any]:
    names = {field.name for field in fields(Behaviour)}
    overrides = {key: value for key, value in body.items() if key in names}
    for key, value in overrides.items():
        if key != "business_hours" and _body_number(overrides, key) is None:
            raise ValueError(f"{key} must be a number")
        if key == "time_scale" and value <= 0:
            raise ValueError("time_scale must be positive")
    return overrides


def routes(traffic: Traffic) -> list[web.RouteDef]:
    async def post(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("expected a JSON object")
            if body.get("stop"):
                return web.json_response(traffic.stop())
            days = _body_number(body, "history_days")
            if days is not None:
                per_day = _body_number(body, "leads_per_day") or 150
                result = await traffic.generate_history(
                    days=int(days), leads_per_day=int(per_day), seed=_body_seed(body)
                )
                return web.json_response({**result, "status": traffic.status()})
            rate = _body_number(body, "leads_per_min")
            if rate is None:
                raise ValueError("give leads_per_min, history_days or stop")
            status = traffic.start(
                leads_per_min=rate,
                respond=bool(body.get("respond", True)),
                seed=_body_seed(body),
                **_behaviour_overrides(body),
            )
            return web.json_response(status)
        except ValueError as error:
            return web.json_response({"error": str(error)}, status=400)

    async def get(request: web.Request) -> web.Response:
        return web.json_response(traffic.status())

    return [web.post("/__emulator__/traffic", post), web.get("/__emulator__/traffic", get)]


def install(app: web.Application, org: Any) -> Traffic:
    """Ground truth, generator and their control routes for ``org``."""
    truth = truth_module.TruthStore(path=org.state_dir / TRUTH_FILE)
    traffic = Traffic(org=org, truth=truth)
    org.truth, org.traffic = truth, traffic
    org.reset_hooks.append(traffic.reset)
    app.router.add_routes([*routes(traffic), *truth_module.routes(truth)])

    async def startup(_: web.Application) -> None:
        await traffic.on_startup()

    async def cleanup(_: web.Application) -> None:
        traffic.stop()
        truth.close()

    app.on_startup.append(startup)
    app.on_cleanup.append(cleanup)
    return traffic
