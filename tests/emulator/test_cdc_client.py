"""The real aiosfstream-ng client against the running emulator: CDC for REST writes, replay,
retention, re-handshake and stream faults."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiosfstream_ng.exceptions import ServerError
from simple_salesforce import Salesforce

from salesforce.streaming import failure_text
from sf_emulator.testing import EmulatorProcess, running_emulator
from tests.emulator.cdc_helpers import (
    header,
    receive,
    receive_nothing,
    record_ids,
    streaming_client,
)
from tests.emulator.conftest import client_for, jwt_login

LEADS = "/data/LeadChangeEvent"
OWN_CLIENT = {"Sforce-Call-Options": "client=flywheel"}


@pytest.fixture
def org(fresh_org: EmulatorProcess) -> EmulatorProcess:
    """A reset org whose connects are held 3 s at most, so every test stays quick."""
    stream(fresh_org, advice_timeout_ms=3000)
    return fresh_org


def stream(emulator: EmulatorProcess, **faults: object) -> dict:
    response = emulator.control("POST", "/__emulator__/stream", json=faults)
    assert response.status_code == 200, response.text
    return response.json()


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 60))


async def create_leads(sf: Salesforce, count: int, *, prefix: str = "Lead") -> list[str]:
    def create() -> list[str]:
        return [
            sf.Lead.create(
                {"LastName": f"{prefix} {n}", "Company": "Acme", "Country": "France"},
                headers=OWN_CLIENT,
            )["id"]
            for n in range(count)
        ]

    return await asyncio.to_thread(create)


def test_rest_writes_arrive_as_change_events(org: EmulatorProcess, sf: Salesforce):
    async def scenario() -> None:
        # Given a subscribed client
        async with streaming_client(org.connection_env) as client:
            await client.subscribe(LEADS)

            # When the app creates a lead through REST, naming itself in Sforce-Call-Options
            [lead_id] = await create_leads(sf, 1, prefix="Smith")

            # Then the client receives the CREATE event with the lead's fields
            [message] = await receive(client, 1)
        assert message["channel"] == LEADS
        assert header(message)["changeType"] == "CREATE"
        assert header(message)["recordIds"] == [lead_id]
        assert header(message)["changeOrigin"].endswith(";client=flywheel")
        payload = message["data"]["payload"]
        assert payload["Name"] == {"LastName": "Smith 0"}
        assert payload["Address"] == {"Country": "France"}
        assert isinstance(message["data"]["event"]["replayId"], int)

    run(scenario)


def test_control_api_writes_look_like_a_ui_user(org: EmulatorProcess):
    async def scenario() -> None:
        async with streaming_client(org.connection_env) as client:
            await client.subscribe(LEADS)
            response = await asyncio.to_thread(
                org.control,
                "POST",
                "/__emulator__/records/Lead",
                {"LastName": "Human", "Company": "Acme"},
            )
            [message] = await receive(client, 1)
        assert header(message)["recordIds"] == [response.json()["id"]]
        assert header(message)["changeOrigin"] == "com/salesforce/ui"

    run(scenario)


def test_resuming_from_a_stored_replay_id_misses_and_repeats_nothing(
    org: EmulatorProcess, sf: Salesforce
):
    async def scenario() -> None:
        # Given a client that received two events, remembered its replay id and disconnected
        storage: dict = {}
        async with streaming_client(org.connection_env, replay=storage) as first:
            await first.subscribe(LEADS)
            seen = await create_leads(sf, 2, prefix="Before")
            assert record_ids(await receive(first, 2)) == seen

        # When three leads are created while it is away and it comes back with the same storage
        missed = await create_leads(sf, 3, prefix="Away")
        async with streaming_client(org.connection_env, replay=storage) as second:
            await second.subscribe(LEADS)

            # Then it receives exactly the three it missed, in order, and nothing else
            assert record_ids(await receive(second, 3)) == missed
            assert await receive_nothing(second, within=0.5)

    run(scenario)


def test_replay_id_past_retention_gets_the_invalid_replay_error(
    org: EmulatorProcess, sf: Salesforce
):
    async def scenario() -> None:
        # Given a stored replay id, then newer events, then a retention window that excludes it
        storage: dict = {}
        async with streaming_client(org.connection_env, replay=storage) as first:
            await first.subscribe(LEADS)
            await create_leads(sf, 1)
            [message] = await receive(first, 1)
        await create_leads(sf, 1)
        await asyncio.sleep(0.01)
        stream(org, retention_hours=0)

        # When a client resumes from it, Salesforce's exact error comes back
        replay_id = message["data"]["event"]["replayId"]
        async with streaming_client(org.connection_env, replay=storage) as second:
            with pytest.raises(ServerError) as refused:
                await second.subscribe(LEADS)
        assert refused.value.error == (
            f"400::The replayId {{{replay_id}}} you provided was invalid. Please provide a valid "
            "ID, -2 to replay all events, or -1 to replay only new events."
        )

    run(scenario)


def test_client_survives_unknown_client_by_handshaking_again(org: EmulatorProcess, sf: Salesforce):
    async def scenario() -> None:
        # Given a client that already received an event
        storage: dict = {}
        client = streaming_client(org.connection_env, replay=storage)
        async with client:
            await client.subscribe(LEADS)
            first = await create_leads(sf, 1, prefix="First")
            assert record_ids(await receive(client, 1)) == first
            logins = client.auth.logins

            # When the emulator forgets every CometD client and a lead is created
            await asyncio.to_thread(stream, org, expire_sessions=True)
            second = await create_leads(sf, 1, prefix="Second")

            # Then the client logs in again, re-handshakes, resubscribes from its replay id and
            # receives the new lead only
            assert record_ids(await receive(client, 1)) == second
            assert await receive_nothing(client, within=0.5)
            assert client.auth.logins > logins

    run(scenario)


def test_a_refused_handshake_names_the_limit_until_it_is_lifted(org: EmulatorProcess):
    async def scenario() -> None:
        # Given an org past a streaming limit
        stream(org, refuse_handshake="403::Organization concurrent user limit exceeded")

        # When a client connects, the handshake is denied with Salesforce's reason
        with pytest.raises(ServerError) as denied:
            async with streaming_client(org.connection_env):
                pass
        assert failure_text(denied.value) == (
            "403::Handshake denied (403::Organization concurrent user limit exceeded)"
        )
        assert denied.value.response["advice"] == {"reconnect": "none"}

        # Then, once lifted, clients connect again
        assert stream(org, refuse_handshake=None)["refuse_handshake"] is None
        async with streaming_client(org.connection_env) as client:
            await client.subscribe(LEADS)

    run(scenario)


def test_client_reconnects_after_the_stream_drops(org: EmulatorProcess, sf: Salesforce):
    async def scenario() -> None:
        async with streaming_client(org.connection_env, connection_timeout=5) as client:
            await client.subscribe(LEADS)
            await asyncio.sleep(0.2)  # let the client's connect be held
            await asyncio.to_thread(stream, org, drop=True)
            created = await create_leads(sf, 1)
            assert record_ids(await receive(client, 1)) == created
        assert stream(org)["stream_drops"] == 1

    run(scenario)


def test_gap_and_duplicate_faults_reach_the_client(org: EmulatorProcess, sf: Salesforce):
    async def scenario() -> None:
        async with streaming_client(org.connection_env) as client:
            await client.subscribe(LEADS)

            # Given the next change arrives as a gap
            await asyncio.to_thread(stream, org, gap_next=1)
            [lead_id] = await create_leads(sf, 1)
            [gap] = await receive(client, 1)
            assert header(gap)["changeType"] == "GAP_CREATE"
            assert header(gap)["recordIds"] == [lead_id]
            assert set(gap["data"]["payload"]) == {"ChangeEventHeader"}

            # And every delivery is then duplicated
            await asyncio.to_thread(stream, org, duplicate_rate=1.0)
            await asyncio.to_thread(sf.Lead.update, lead_id, {"Company": "Globex"})
            first, again = await receive(client, 2)
            assert first == again
            assert first["data"]["payload"]["Company"] == "Globex"

            # And an overflow names no real record
            await asyncio.to_thread(stream, org, duplicate_rate=0, overflow="Lead")
            [overflow] = await receive(client, 1)
            assert header(overflow)["recordIds"] == ["000000000000000AAA"]

    run(scenario)


def test_stream_faults_ride_along_the_faults_endpoint_and_stats_count_events(
    org: EmulatorProcess, sf: Salesforce
):
    response = org.control("POST", "/__emulator__/faults", {"stream": {"pause": True}})
    assert response.status_code == 200
    sf.Lead.create({"LastName": "Counted", "Company": "Acme"})

    assert stream(org)["paused"] is True
    assert org.control("GET", "/__emulator__/stats").json()["events_published"] >= 1
    for bad in ({"duplicate_rate": 2}, {"gap_next": "soon"}, {"gap": {"record_ids": ["x"]}}):
        assert org.control("POST", "/__emulator__/stream", json=bad).status_code == 400


def test_replay_survives_an_emulator_restart(tmp_path: Path):
    with running_emulator(tmp_path / "org") as emulator:
        sf = client_for(jwt_login(emulator), emulator.connection_env["SF_CA_BUNDLE"])
        storage: dict = {}

        async def before_restart() -> None:
            async with streaming_client(emulator.connection_env, replay=storage) as client:
                await client.subscribe(LEADS)
                await create_leads(sf, 1)
                await receive(client, 1)

        run(before_restart)
        missed = sf.Lead.create({"LastName": "While away", "Company": "Acme"})["id"]
        emulator.restart()
        after = client_for(jwt_login(emulator), emulator.connection_env["SF_CA_BUNDLE"])

        async def after_restart() -> None:
            async with streaming_client(emulator.connection_env, replay=storage) as client:
                await client.subscribe(LEADS)
                new = await create_leads(after, 1)
                assert record_ids(await receive(client, 2)) == [missed, *new]
                replay_ids = [marker.replay_id for marker in storage.values()]
                assert replay_ids == [3]

        run(after_restart)


def test_composite_email_and_traffic_writes_arrive_on_the_all_changes_channel(
    org: EmulatorProcess, sf: Salesforce
):
    async def scenario() -> None:
        async with streaming_client(org.connection_env) as client:
            await client.subscribe("/data/ChangeEvents")

            # When two leads are created in one sObject Collections call
            body = {
                "allOrNone": True,
                "records": [
                    {"attributes": {"type": "Lead"}, "LastName": f"C{n}", "Company": "Acme"}
                    for n in range(2)
                ],
            }
            results = await asyncio.to_thread(
                sf.restful, "composite/sobjects", method="POST", json=body
            )
            created = await receive(client, 2)

            # And the app emails the first one (logged as a Task)
            email = {
                "emailAddresses": "ada@example.test",
                "emailSubject": "Hello",
                "emailBody": "Thanks",
                "relatedRecordId": results[0]["id"],
                "logEmailOnSend": True,
            }
            await asyncio.to_thread(
                sf.restful,
                "actions/standard/emailSimple",
                method="POST",
                json={"inputs": [email]},
            )
            mailed = await receive(client, 2)

            # And the traffic generator adds a lead of its own
            await asyncio.to_thread(
                org.control,
                "POST",
                "/__emulator__/traffic",
                {"leads_per_min": 600, "respond": False},
            )
            try:
                [synthetic] = await receive(client, 1)
            finally:
                await asyncio.to_thread(
                    org.control, "POST", "/__emulator__/traffic", {"stop": True}
                )

        # Then every write arrived as a change event, the collection as one transaction
        assert record_ids(created) == [result["id"] for result in results]
        assert len({header(message)["transactionKey"] for message in created}) == 1
        assert [header(message)["sequenceNumber"] for message in created] == [1, 2]
        assert {header(message)["entityName"] for message in mailed} == {"Task", "EmailMessage"}
        assert len({header(message)["transactionKey"] for message in mailed}) == 1
        assert all(message["channel"] == "/data/ChangeEvents" for message in mailed)
        assert header(synthetic)["entityName"] == "Lead"
        assert header(synthetic)["changeOrigin"] == "com/salesforce/ui"
        truth = org.control("GET", f"/__emulator__/truth/Lead/{record_ids([synthetic])[0]}")
        assert truth.json()["origin"] == "traffic"

    run(scenario)


def test_clearing_faults_resumes_a_paused_stream_and_stats_report_the_stream(
    org: EmulatorProcess, sf: Salesforce
):
    async def scenario() -> None:
        async with streaming_client(org.connection_env) as client:
            await client.subscribe(LEADS)
            # Given stream faults set through the faults endpoint: paused, gaps and duplicates
            faults = {"pause": True, "gap_next": 5, "duplicate_rate": 1.0, "retention_hours": 1}
            await asyncio.to_thread(org.control, "POST", "/__emulator__/faults", {"stream": faults})
            created = await create_leads(sf, 1)
            assert await receive_nothing(client, within=0.5)

            # When every fault is cleared
            response = await asyncio.to_thread(
                org.control, "POST", "/__emulator__/faults", {"clear": True}
            )
            assert response.status_code == 200

            # Then the held event arrives (it was written while gaps were due), once
            [gap] = await receive(client, 1)
            assert record_ids([gap]) == created
            assert header(gap)["changeType"] == "GAP_CREATE"
            assert await receive_nothing(client, within=0.5)

    run(scenario)

    # And the stats show the stream back at its defaults, events counted in both places
    stats = org.control("GET", "/__emulator__/stats").json()
    streaming = stats["streaming"]
    assert stats["events_published"] == streaming["events_published"] >= 1
    assert streaming["paused"] is False
    assert streaming["duplicate_rate"] == 0.0
    assert streaming["gap_next"] == 0
    assert streaming["retention_hours"] == 72
    assert streaming["advice_timeout_ms"] == 110_000
    assert streaming["last_replay_id"] >= streaming["oldest_replayable_id"]


def test_clear_and_stream_faults_in_one_request_apply_in_that_order(org: EmulatorProcess):
    stream(org, duplicate_rate=0.5, gap_next=3)

    response = org.control(
        "POST", "/__emulator__/faults", {"clear": True, "stream": {"pause": True}}
    )

    assert response.status_code == 200
    streaming = org.control("GET", "/__emulator__/stats").json()["streaming"]
    assert (streaming["paused"], streaming["duplicate_rate"], streaming["gap_next"]) == (
        True,
        0.0,
        0,
    )
