"""The stream counts the faults its clients met, not only the ones asked for: duplicate copies
and gap events delivered, held connects dropped, clients told their session is gone."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from tests.emulator.test_cometd_protocol import Bayeux, replay_ids, run


def test_delivered_faults_are_counted(tmp_path: Path):
    async def scenario(bayeux: Bayeux) -> None:
        # Given a subscribed client
        client_id = await bayeux.ready_client()

        # When one event comes twice, the next arrives as a gap, one held connect is dropped and
        # then the sessions expire
        bayeux.log.apply_faults({"duplicate_rate": 1.0})
        bayeux.publish()
        assert replay_ids(await bayeux.connect(client_id)) == [1, 1]
        bayeux.log.apply_faults({"duplicate_rate": 0.0, "gap_next": 1})
        bayeux.publish(change_type="UPDATE")
        [gap] = (await bayeux.connect(client_id))[:1]
        held = asyncio.ensure_future(bayeux.connect(client_id))
        await asyncio.sleep(0.05)
        bayeux.log.apply_faults({"drop": True})
        with pytest.raises(aiohttp.ClientError):
            await held
        bayeux.log.apply_faults({"expire_sessions": True})
        [refused] = await bayeux.connect(client_id)

        # Then each shows in the stats as met once
        stats = bayeux.broker.stats()
        assert refused["error"] == "403::Unknown client"
        assert gap["data"]["payload"]["ChangeEventHeader"]["changeType"] == "GAP_UPDATE"
        assert {
            name: stats[name]
            for name in (
                "duplicates_delivered",
                "gap_events_delivered",
                "connects_dropped",
                "unknown_client_replies",
            )
        } == {
            "duplicates_delivered": 1,
            "gap_events_delivered": 1,
            "connects_dropped": 1,
            "unknown_client_replies": 1,
        }

    run(tmp_path, scenario)


def test_a_drop_with_no_connect_held_drops_nothing(tmp_path: Path):
    async def scenario(bayeux: Bayeux) -> None:
        await bayeux.ready_client()

        bayeux.log.apply_faults({"drop": True})

        stats = bayeux.broker.stats()
        assert (stats["stream_drops"], stats["connects_dropped"]) == (1, 0)

    run(tmp_path, scenario)
