"""CDC messages become flat, validated change rows; bad ones are refused with a reason."""

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesforce.cdc import InvalidChangeEvent, is_own_origin, parse_message
from tests.listener.factories import LEAD_A, cdc_message

LEAD_B = "00Q5f000001AbCeEAK"


def test_compound_name_and_address_are_flattened_like_rest():
    message = cdc_message(
        fields={
            "Name": {"FirstName": "Ana", "LastName": "Lopez"},
            "Address": {"Country": "Deutschland", "City": "Köln"},
            "Company": "Acme",
            "NumberOfEmployees": 250,
        }
    )

    [change] = parse_message(message)

    assert change.fields["FirstName"] == "Ana"
    assert change.fields["LastName"] == "Lopez"
    assert change.fields["Country"] == "Deutschland"
    assert change.fields["NumberOfEmployees"] == 250
    assert change.record_id == LEAD_A


def test_changed_compound_field_names_are_flattened():
    message = cdc_message(change_type="UPDATE", changed=["Address.Country", "OwnerId"])

    [change] = parse_message(message)

    assert change.changed_fields == ["Country", "OwnerId"]


def test_merged_event_with_several_records_becomes_one_change_per_record():
    message = cdc_message(record_ids=[LEAD_A, LEAD_B])

    changes = parse_message(message)

    assert [c.record_id for c in changes] == [LEAD_A, LEAD_B]
    assert len({c.replay_id for c in changes}) == 1


@pytest.mark.parametrize(
    ("origin", "own"),
    [
        ("com/salesforce/api/rest/59.0;client=flywheel", True),
        ("com/salesforce/api/rest/59.0;client=other", False),
        ("com/salesforce/ui", False),
        ("", False),
        ("client=flywheelx", False),
    ],
)
def test_own_writes_are_recognised_by_client_option(origin, own):
    assert is_own_origin(origin) is own


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda m: m["data"]["payload"].pop("ChangeEventHeader"), "ChangeEventHeader"),
        (
            lambda m: m["data"]["payload"]["ChangeEventHeader"].update(entityName="Account"),
            "entity",
        ),
        (
            lambda m: m["data"]["payload"]["ChangeEventHeader"].update(changeType="MERGE"),
            "changeType",
        ),
        (lambda m: m["data"]["payload"]["ChangeEventHeader"].update(recordIds=[]), "recordIds"),
        (
            lambda m: m["data"]["payload"]["ChangeEventHeader"].update(recordIds=["nope"]),
            "malformed",
        ),
        (
            lambda m: m["data"]["payload"]["ChangeEventHeader"].update(commitTimestamp="x"),
            "commitTimestamp",
        ),
        (lambda m: m["data"]["event"].update(replayId="7"), "replayId"),
        (lambda m: m.pop("data"), "data"),
    ],
)
def test_malformed_messages_are_refused_with_a_reason(mutate, reason):
    message = cdc_message()
    mutate(message)

    with pytest.raises(InvalidChangeEvent, match=reason):
        parse_message(message)


def test_gap_overflow_accepts_the_placeholder_record_id():
    message = cdc_message(change_type="GAP_OVERFLOW", record_ids=["000000000000000AAA"])

    [change] = parse_message(message)

    assert change.is_gap


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=20), children, max_size=4)
        ),
        max_leaves=30,
    )
)
def test_any_json_either_parses_or_is_refused_cleanly(garbage):
    with contextlib.suppress(InvalidChangeEvent):
        parse_message(garbage)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=30), st.text(max_size=200) | st.integers(), max_size=8))
def test_garbage_header_values_never_crash(header_patch):
    message = cdc_message()
    message["data"]["payload"]["ChangeEventHeader"].update(header_patch)
    with contextlib.suppress(InvalidChangeEvent):
        parse_message(message)
