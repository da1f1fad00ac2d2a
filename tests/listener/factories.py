"""CDC message builders shaped like Salesforce's."""

from __future__ import annotations

import itertools

LEAD_A = "00Q5f000001AbCdEAK"
INTEGRATION_USER = "0055f000000001cAAA"
REP = "0055f0000000001AAA"

_replay = itertools.count(100)


def cdc_message(
    *,
    entity: str = "Lead",
    change_type: str = "CREATE",
    record_ids: list[str] | None = None,
    fields: dict | None = None,
    changed: list[str] | None = None,
    origin: str = "com/salesforce/api/rest/59.0",
    commit_user: str = REP,
    replay_id: int | None = None,
    commit_ms: int = 1_764_300_000_000,
) -> dict:
    payload = {
        "ChangeEventHeader": {
            "entityName": entity,
            "recordIds": record_ids or [LEAD_A],
            "changeType": change_type,
            "changeOrigin": origin,
            "transactionKey": "0001-abc",
            "sequenceNumber": 1,
            "commitTimestamp": commit_ms,
            "commitNumber": 1,
            "commitUser": commit_user,
            "changedFields": changed or [],
        },
        **(fields or {}),
    }
    return {
        "channel": f"/data/{entity}ChangeEvent",
        "data": {
            "schema": "abc",
            "payload": payload,
            "event": {"replayId": replay_id if replay_id is not None else next(_replay)},
        },
    }
