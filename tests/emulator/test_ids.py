"""Salesforce-shaped ids: key prefixes, the case-checksum suffix, 15/18-character forms."""

from __future__ import annotations

import pytest

from sf_emulator.ids import (
    KEY_PREFIXES,
    IdFactory,
    checksum_suffix,
    decode_counter,
    is_valid_id,
    sobject_for_id,
    to_18,
)


@pytest.mark.parametrize(
    ("id15", "id18"),
    [
        # a widely quoted example, another by the same rule, and two seeded ids
        ("001A0000006Vm9r", "001A0000006Vm9rIAC"),
        ("003A0000005QB3A", "003A0000005QB3AIAW"),
        ("0055f0000000001", "0055f0000000001AAA"),
        ("00G5f0000000007", "00G5f0000000007EAA"),
    ],
)
def test_checksum_suffix_matches_salesforce(id15: str, id18: str):
    assert to_18(id15) == id18
    assert to_18(id18) == id18
    assert checksum_suffix(id15) == id18[15:]


def test_ids_of_every_object_carry_their_key_prefix_and_a_valid_suffix():
    factory = IdFactory()
    for sobject, prefix in KEY_PREFIXES.items():
        record_id = factory.new_id(sobject)

        assert len(record_id) == 18 and record_id.startswith(prefix)
        assert is_valid_id(record_id) and to_18(record_id[:15]) == record_id
        assert sobject_for_id(record_id) == sobject
    assert {"Lead": "00Q", "Task": "00T", "EmailMessage": "02s", "User": "005"}.items() <= (
        KEY_PREFIXES.items()
    )
    assert KEY_PREFIXES["Group"] == "00G"


def test_ids_are_unique_and_resume_past_a_counter():
    factory = IdFactory()
    ids = {factory.new_id("Lead") for _ in range(1000)}
    assert len(ids) == 1000

    factory.advance_past(5000)
    assert decode_counter(factory.new_id("Task")) == 5001


@pytest.mark.parametrize(
    "bad",
    ["", "00Q", "00Q4x00000000001", "00Q4x0000000001ZZZ", "00Q4x000000000!EAA", None, 12345],
)
def test_malformed_ids_are_refused(bad: object):
    assert not is_valid_id(bad)
    with pytest.raises(ValueError):
        to_18(bad)  # type: ignore[arg-type]


def test_unknown_prefixes_and_objects():
    assert sobject_for_id("001A0000006Vm9rIAC") is None
    with pytest.raises(ValueError):
        IdFactory().new_id("Account")
