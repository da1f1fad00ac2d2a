"""Hostile CDC messages in a batch: each one is stored or dead-lettered with its reason, nothing
raises out of the batch, and the valid messages of the same batch are all stored."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesforce import inbox
from salesforce.cdc import InvalidChangeEvent, parse_message
from salesforce.ids import to_18
from salesforce.listener import batch_process
from salesforce.models import ChangeEvent, DeadLetter, ReplayPosition
from tests.reliability.conftest import examples
from tests.reliability.strategies import json_values, lead_fields, scalars, text

CHANNEL = "/data/ChangeEvents"
PREFIX = {"Lead": "00Q", "Task": "00T", "EmailMessage": "02s"}
_ids = itertools.count(1)
_replay = itertools.count(1_000)


class NoRecordsClient:
    """Reconciliation of a gap finds nothing (the records are gone)."""

    def query_ids(self, template: str, ids: list[str], *, chunk: int = 200) -> list[dict]:
        return []

    def query_all(self, soql: str) -> list[dict]:
        return []


@st.composite
def valid_messages(draw: st.DrawFn) -> dict:
    entity = draw(st.sampled_from(sorted(PREFIX)))
    record_id = to_18(f"{PREFIX[entity]}5f{next(_ids):010d}")
    return {
        "channel": CHANNEL,
        "data": {
            "event": {"replayId": next(_replay)},
            "payload": {
                "ChangeEventHeader": {
                    "entityName": entity,
                    "changeType": draw(st.sampled_from(["CREATE", "UPDATE", "DELETE"])),
                    "recordIds": [record_id],
                    "commitTimestamp": draw(st.integers(0, 4_102_444_800_000)),
                    "commitUser": draw(st.one_of(st.none(), text())),
                    "changeOrigin": draw(st.one_of(st.none(), text())),
                    "changedFields": draw(st.lists(text(), max_size=3)),
                    "transactionKey": draw(st.one_of(st.none(), text())),
                },
                "Name": {"FirstName": draw(scalars()), "LastName": draw(scalars())},
                **draw(lead_fields()),
            },
        },
    }


def _lead_message(replay_id: int) -> dict:
    header = {
        "entityName": "Lead",
        "changeType": "CREATE",
        "recordIds": [to_18(f"00Q5f{next(_ids):010d}")],
        "commitTimestamp": 1_767_225_600_000,
    }
    return {
        "channel": CHANNEL,
        "data": {"event": {"replayId": replay_id}, "payload": {"ChangeEventHeader": header}},
    }


HEADER_KEYS = (
    "entityName",
    "changeType",
    "recordIds",
    "commitTimestamp",
    "changeOrigin",
    "changedFields",
)


@st.composite
def hostile_messages(draw: st.DrawFn, *, huge_replay_ids: bool = True) -> object:
    """A valid message with one part broken, or plain JSON garbage."""
    message = draw(valid_messages())
    header = message["data"]["payload"]["ChangeEventHeader"]
    how = draw(st.sampled_from(["garbage", "drop", "header", "entity", "replay", "nest"]))
    if how == "garbage":
        return draw(json_values())
    if how == "drop":
        path = draw(st.sampled_from(["data", "payload", "header", *HEADER_KEYS]))
        if path == "data":
            del message["data"]
        elif path == "payload":
            del message["data"]["payload"]
        elif path == "header":
            del message["data"]["payload"]["ChangeEventHeader"]
        else:
            del header[path]
    elif how == "header":
        header[draw(st.sampled_from(HEADER_KEYS))] = draw(json_values(4))
    elif how == "entity":
        header["entityName"] = draw(st.sampled_from(["Account", "lead", "", "Lead ", None]))
    elif how == "replay":
        too_big = st.integers(2**63, 2**80) if huge_replay_ids else st.nothing()
        message["data"]["event"]["replayId"] = draw(
            st.one_of(too_big, st.integers(-(2**80), -1), json_values(2))
        )
    else:
        message["data"]["payload"] = [message["data"]["payload"]]
    return message


@pytest.fixture
def enqueued(monkeypatch) -> list[tuple]:
    calls: list[tuple] = []
    monkeypatch.setattr(inbox, "async_task", lambda *args, **kwargs: calls.append(args))
    return calls


@pytest.mark.django_db
@examples(40)
@given(
    batch=st.lists(
        valid_messages() | hostile_messages(huge_replay_ids=False), min_size=1, max_size=6
    ),
    extra_valid=st.lists(valid_messages(), min_size=1, max_size=3),
)
def test_each_message_is_stored_or_dead_lettered_and_valid_ones_are_never_lost(
    batch, extra_valid, enqueued
):
    messages = [*batch, *extra_valid]
    verdicts = []
    for message in messages:
        try:
            verdicts.append(parse_message(message, channel=CHANNEL))
        except InvalidChangeEvent as error:
            verdicts.append(str(error))
    dead_before = DeadLetter.objects.count()

    outcome = batch_process(messages, client=NoRecordsClient(), integration_user_id="")

    reasons = [v for v in verdicts if isinstance(v, str)]
    parsed = [change for v in verdicts if isinstance(v, list) for change in v]
    stored = set(ChangeEvent.objects.filter(source="cdc").values_list("replay_id", "record_id"))
    assert all(reasons), "every dead letter has a reason"
    assert outcome.dead_letters == len(reasons)
    assert list(
        DeadLetter.objects.order_by("id").values_list("reason", flat=True)[dead_before:]
    ) == [reason[:2000] for reason in reasons]
    assert {(c.replay_id, c.record_id) for c in parsed} <= stored
    for message in extra_valid:
        header = message["data"]["payload"]["ChangeEventHeader"]
        assert (message["data"]["event"]["replayId"], header["recordIds"][0]) in stored
    position = ReplayPosition.objects.get(channel=CHANNEL)
    assert position.replay_id >= max(m["data"]["event"]["replayId"] for m in extra_valid)


@pytest.mark.django_db
@examples(30)
@given(message=hostile_messages())
def test_parse_refuses_garbage_only_with_a_reason(message):
    try:
        changes = parse_message(message, channel=CHANNEL)
    except InvalidChangeEvent as error:
        assert str(error)
        return
    assert changes and all(c.entity in PREFIX and c.record_id for c in changes)
    assert all(-(2**63) <= (c.replay_id or 0) < 2**63 for c in changes)


@pytest.mark.django_db
def test_a_replay_id_beyond_64_bits_does_not_hold_back_the_position(enqueued):
    valid, broken = _lead_message(next(_replay)), _lead_message(2**70)

    batch_process([valid, broken], client=NoRecordsClient(), integration_user_id="")

    position = ReplayPosition.objects.get(channel=CHANNEL)
    assert position.replay_id == valid["data"]["event"]["replayId"]


@pytest.mark.django_db
def test_nul_characters_are_stored_without_failing_the_batch(enqueued):
    message = _lead_message(next(_replay))
    message["data"]["payload"]["ChangeEventHeader"]["commitUser"] = "005\x00"
    message["data"]["payload"]["Company"] = "Ac\x00me"
    message["data"]["payload"]["Ke\x00y"] = {"a\x00": ["b\x00"]}
    garbage = {"channel": CHANNEL, "data": {"payload": "\x00", "k\x00": "v\x00"}}

    outcome = batch_process([message, garbage], client=NoRecordsClient(), integration_user_id="")

    event = ChangeEvent.objects.get(replay_id=message["data"]["event"]["replayId"])
    assert (outcome.stored, outcome.dead_letters) == (1, 1)
    assert event.fields["Company"] == "Acme" and event.fields["Key"] == {"a": ["b"]}
    assert DeadLetter.objects.get().payload["data"]["k"] == "v"


def test_a_change_type_that_is_an_object_is_refused_with_a_reason():
    message = _lead_message(next(_replay))
    message["data"]["payload"]["ChangeEventHeader"]["changeType"] = {"CREATE": 1}

    with pytest.raises(InvalidChangeEvent, match="unknown changeType"):
        parse_message(message, channel=CHANNEL)
