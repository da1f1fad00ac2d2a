"""Bayeux over long-polling as Salesforce serves it: raw messages against an in-process server."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from sf_emulator import cometd
from sf_emulator.cdc import EventLog, entities_for
from sf_emulator.changes import RecordChange

TOKEN = "00D!good-token"
USER = "0055f000000001cAAA"
LEAD_CHANNEL = "/data/LeadChangeEvent"
TIMEOUT_MS = 400


@dataclass
class FakeSession:
    user_id: str


@dataclass
class Bayeux:
    """A raw Bayeux caller bound to one in-process server."""

    http: aiohttp.ClientSession
    url: str
    log: EventLog
    broker: cometd.Broker

    async def post(self, messages: list[dict], *, token: str = TOKEN) -> list[dict]:
        headers = {"Authorization": f"Bearer {token}"}
        async with self.http.post(self.url, json=messages, headers=headers) as response:
            assert response.content_type == "application/json"
            return await response.json()

    async def handshake(self) -> str:
        [reply] = await self.post([handshake_message()])
        return reply["clientId"]

    async def subscribe(self, client_id: str, replay: int | None = None, **extra) -> dict:
        message = {"channel": "/meta/subscribe", "clientId": client_id, "id": "s"}
        message["subscription"] = extra.get("channel", LEAD_CHANNEL)
        if replay is not None:
            message["ext"] = {"replay": {message["subscription"]: replay}}
        [reply] = await self.post([message])
        return reply

    async def connect(self, client_id: str, message_id: str = "c") -> list[dict]:
        message = {"channel": "/meta/connect", "clientId": client_id, "id": message_id}
        message["connectionType"] = "long-polling"
        return await self.post([message])

    async def ready_client(self, replay: int | None = None) -> str:
        """Handshake, subscribe to Lead changes and use up the immediate first connect."""
        client_id = await self.handshake()
        assert (await self.subscribe(client_id, replay))["successful"]
        await self.connect(client_id, "first")
        return client_id

    def publish(self, count: int = 1, *, change_type: str = "CREATE") -> None:
        for _ in range(count):
            self.log.on_change(lead_change(change_type))


def handshake_message() -> dict:
    return {
        "channel": "/meta/handshake",
        "id": "1",
        "version": "1.0",
        "minimumVersion": "1.0",
        "supportedConnectionTypes": ["websocket", "long-polling"],
    }


def lead_change(change_type: str = "CREATE") -> RecordChange:
    return RecordChange(
        entity="Lead",
        change_type=change_type,  # type: ignore[arg-type]
        record_id="00Q4x0000000001EAA",
        fields={"LastName": "Smith", "Company": "Acme"} if change_type == "CREATE" else {},
        changed_fields=(),
        user_id=USER,
        client=None,
        transaction_key=str(time.monotonic_ns()),
        sequence_number=1,
        commit_timestamp_ms=int(time.time() * 1000),
    )


def events(replies: list[dict]) -> list[dict]:
    return [reply for reply in replies if not reply["channel"].startswith("/meta/")]


def replay_ids(replies: list[dict]) -> list[int]:
    return [reply["data"]["event"]["replayId"] for reply in events(replies)]


def run(tmp_path: Path, scenario: Callable[[Bayeux], Awaitable[None]]) -> None:
    """Serve CometD in-process over HTTP and run ``scenario`` against it."""

    async def main() -> None:
        log = EventLog(
            path=tmp_path / "events.sqlite3",
            clock=lambda: dt.datetime.now(dt.UTC),
            integration_user_id=USER,
        )
        broker = cometd.Broker(
            log=log,
            channel_entities=entities_for,
            validate=lambda token: FakeSession(USER) if token == TOKEN else None,
            rng=random.Random(1),
            timeout_ms=TIMEOUT_MS,
        )
        log.delivery = broker
        app = web.Application()
        cometd.setup(app, broker)
        async with TestServer(app) as server, aiohttp.ClientSession() as http:
            await scenario(Bayeux(http, str(server.make_url("/cometd/59.0")), log, broker))
        log.close()

    asyncio.run(main())


def test_handshake_answers_like_salesforce_and_sets_the_browser_cookie(tmp_path: Path):
    async def scenario(bayeux: Bayeux) -> None:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with bayeux.http.post(bayeux.url, json=[handshake_message()], headers=headers) as r:
            [reply] = await r.json()
            assert "BAYEUX_BROWSER" in r.cookies
        assert reply["successful"] is True
        assert reply["id"] == "1"
        assert reply["clientId"]
        assert reply["supportedConnectionTypes"] == ["long-polling"]
        assert reply["advice"] == {"reconnect": "retry", "interval": 0, "timeout": TIMEOUT_MS}
        assert reply["ext"] == {"replay": True, "payload.format": True}

    run(tmp_path, scenario)


def test_invalid_token_gets_401_and_no_reconnect(tmp_path: Path):
    async def scenario(bayeux: Bayeux) -> None:
        [reply] = await bayeux.post([handshake_message()], token="expired")
        assert reply["successful"] is False
        assert reply["error"] == "401::Authentication invalid"
        assert reply["advice"]["reconnect"] == "none"
        assert reply["id"] == "1"

    run(tmp_path, scenario)


def test_unknown_client_is_told_to_handshake_again(tmp_path: Path):
    async def scenario(bayeux: Bayeux) -> None:
        [reply] = await bayeux.connect("no-such-client", "7")
        assert reply == {
            "channel": "/meta/connect",
            "id": "7",
            "clientId": "no-such-client",
            "advice": {"reconnect": "handshake", "interval": 0},
            "error": "403::Unknown client",
            "successful": False,
        }

    run(tmp_path, scenario)


def test_held_connect_answers_as_soon_as_an_event_arrives(tmp_path: Path):
    async def scenario(bayeux: Bayeux) -> None:
        # Given a subscribed client whose connect is being held
        client_id = await bayeux.ready_client()
        started = time.monotonic()
        held = asyncio.ensure_future(bayeux.connect(client_id, "42"))
        await asyncio.sleep(0.05)
        assert not held.done()

        # When a lead is created
        bayeux.publish()

        # Then the connect returns at once with the event and its own reply in one array
        replies = await held
        assert time.monotonic() - started < TIMEOUT_MS / 1000
        assert [r["channel"] for r in replies] == [LEAD_CHANNEL, "/meta/connect"]
        assert replies[0]["data"]["payload"]["ChangeEventHeader"]["changeType"] == "CREATE"
        assert replies[1]["id"] == "42" and replies[1]["successful"] is True
        assert replies[1]["advice"]["timeout"] == TIMEOUT_MS

    run(tmp_path, scenario)


def test_held_connect_returns_empty_after_the_advised_timeout(tmp_path: Path):
    async def scenario(bayeux: Bayeux) -> None:
        client_id = await bayeux.ready_client()
        started = time.monotonic()
        replies = await bayeux.connect(client_id)
        assert TIMEOUT_MS / 1000 <= time.monotonic() - started < TIMEOUT_MS / 1000 + 0.5
        assert [r["channel"] for r in replies] == ["/meta/connect"]

    run(tmp_path, scenario)


def test_replay_options_all_retained_and_after_an_id(tmp_path: Path):
    async def scenario(bayeux: Bayeux) -> None:
        # Given three retained events and clients subscribing with each replay option
        bayeux.publish(3)
        clients = {}
        for replay in (-2, 1, -1):
            clients[replay] = await bayeux.handshake()
            assert (await bayeux.subscribe(clients[replay], replay))["successful"]

        # When a fourth event is published and each client connects
        bayeux.publish()

        # Then each gets what its replay option asks for, on its first connect
        assert replay_ids(await bayeux.connect(clients[-2])) == [1, 2, 3, 4]
        assert replay_ids(await bayeux.connect(clients[1])) == [2, 3, 4]
        assert replay_ids(await bayeux.connect(clients[-1])) == [4]

    run(tmp_path, scenario)


def test_replay_from_an_unknown_or_expired_id_is_refused_with_salesforce_wording(tmp_path: Path):
    async def scenario(bayeux: Bayeux) -> None:
        bayeux.publish(2)
        client_id = await bayeux.handshake()
        reply = await bayeux.subscribe(client_id, replay=999)
        assert reply["successful"] is False
        assert reply["subscription"] == LEAD_CHANNEL
        assert reply["error"] == (
            "400::The replayId {999} you provided was invalid. Please provide a valid ID, "
            "-2 to replay all events, or -1 to replay only new events."
        )
        bayeux.log.apply_faults({"retention_hours": 0})
        await asyncio.sleep(0.01)
        expired = await bayeux.subscribe(client_id, replay=1)
        assert expired["error"].startswith("400::The replayId {1} you provided was invalid.")

    run(tmp_path, scenario)


def test_reconnect_batch_of_connect_and_subscribes_is_answered_together(tmp_path: Path):
    async def scenario(bayeux: Bayeux) -> None:
        bayeux.publish(2)
        client_id = await bayeux.handshake()
        batch = [
            {"channel": "/meta/connect", "clientId": client_id, "id": "1"},
            {"channel": "/meta/subscribe", "clientId": client_id, "id": "2"}
            | {"subscription": LEAD_CHANNEL, "ext": {"replay": {LEAD_CHANNEL: 1}}},
            {"channel": "/meta/subscribe", "clientId": client_id, "id": "3"}
            | {"subscription": "/data/ChangeEvents"},
        ]
        replies = await bayeux.post(batch)
        by_id = {r.get("id"): r for r in replies if r["channel"].startswith("/meta/")}
        assert by_id["1"]["successful"] and by_id["2"]["successful"] and by_id["3"]["successful"]
        assert by_id["3"]["subscription"] == "/data/ChangeEvents"
        assert replay_ids(replies) == [2]

    run(tmp_path, scenario)


def test_change_events_channel_carries_every_streamed_entity(tmp_path: Path):
    async def scenario(bayeux: Bayeux) -> None:
        client_id = await bayeux.handshake()
        await bayeux.subscribe(client_id, channel="/data/ChangeEvents")
        await bayeux.connect(client_id)
        bayeux.publish()
        [event, _] = await bayeux.connect(client_id)
        assert event["channel"] == "/data/ChangeEvents"

    run(tmp_path, scenario)


def test_unsubscribe_and_disconnect(tmp_path: Path):
    async def scenario(bayeux: Bayeux) -> None:
        client_id = await bayeux.ready_client()
        message = {"channel": "/meta/unsubscribe", "clientId": client_id, "id": "u"}
        [reply] = await bayeux.post([message | {"subscription": LEAD_CHANNEL}])
        assert reply["successful"] and reply["subscription"] == LEAD_CHANNEL
        bayeux.publish()
        assert events(await bayeux.connect(client_id)) == []

        [bye] = await bayeux.post([{"channel": "/meta/disconnect", "clientId": client_id}])
        assert bye["successful"] is True and "id" not in bye
        [gone] = await bayeux.connect(client_id)
        assert gone["error"] == "403::Unknown client"

    run(tmp_path, scenario)


def test_pause_holds_deliveries_until_resume(tmp_path: Path):
    async def scenario(bayeux: Bayeux) -> None:
        client_id = await bayeux.ready_client()
        bayeux.log.apply_faults({"pause": True})
        bayeux.publish()
        assert events(await bayeux.connect(client_id)) == []

        held = asyncio.ensure_future(bayeux.connect(client_id))
        await asyncio.sleep(0.05)
        bayeux.log.apply_faults({"pause": False})
        assert replay_ids(await held) == [1]

    run(tmp_path, scenario)


def test_duplicate_fault_delivers_events_twice(tmp_path: Path):
    async def scenario(bayeux: Bayeux) -> None:
        client_id = await bayeux.ready_client()
        bayeux.log.apply_faults({"duplicate_rate": 1.0})
        bayeux.publish(2)
        assert replay_ids(await bayeux.connect(client_id)) == [1, 1, 2, 2]
        assert bayeux.broker.stats()["events_delivered"] == 4

    run(tmp_path, scenario)


def test_expired_sessions_answer_the_held_connect_with_unknown_client(tmp_path: Path):
    async def scenario(bayeux: Bayeux) -> None:
        client_id = await bayeux.ready_client()
        held = asyncio.ensure_future(bayeux.connect(client_id))
        await asyncio.sleep(0.05)
        bayeux.log.apply_faults({"expire_sessions": True})
        [reply] = await held
        assert reply["error"] == "403::Unknown client"
        assert reply["advice"]["reconnect"] == "handshake"
        assert bayeux.broker.stats()["clients"] == 0

    run(tmp_path, scenario)


def test_drop_closes_held_connects_without_losing_events(tmp_path: Path):
    async def scenario(bayeux: Bayeux) -> None:
        # Given a held connect
        client_id = await bayeux.ready_client()
        held = asyncio.ensure_future(bayeux.connect(client_id))
        await asyncio.sleep(0.05)

        # When the stream drops
        bayeux.log.apply_faults({"drop": True})

        # Then the request fails at the transport level, and the next connect gets the events
        with pytest.raises(aiohttp.ClientError):
            await held
        bayeux.publish()
        assert replay_ids(await bayeux.connect(client_id)) == [1]

    run(tmp_path, scenario)


def test_a_new_connect_releases_the_one_held_for_the_same_client(tmp_path: Path):
    async def scenario(bayeux: Bayeux) -> None:
        client_id = await bayeux.ready_client()
        first = asyncio.ensure_future(bayeux.connect(client_id, "a"))
        await asyncio.sleep(0.05)
        second = asyncio.ensure_future(bayeux.connect(client_id, "b"))
        [reply] = await asyncio.wait_for(first, TIMEOUT_MS / 2000)
        assert reply["id"] == "a" and reply["successful"]
        bayeux.publish()
        assert replay_ids(await second) == [1]

    run(tmp_path, scenario)


def test_unknown_channel_and_malformed_body_are_rejected(tmp_path: Path):
    async def scenario(bayeux: Bayeux) -> None:
        client_id = await bayeux.handshake()
        reply = await bayeux.subscribe(client_id, channel="/data/AccountChangeEvent")
        assert reply["successful"] is False and reply["error"].startswith("400::")
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with bayeux.http.post(bayeux.url, data="nope", headers=headers) as response:
            assert response.status == 400
            assert (await response.json())[0]["successful"] is False

    run(tmp_path, scenario)
