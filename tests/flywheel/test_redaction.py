"""Decision rows keep secrets masked, and the fast path for plain strings changes nothing."""

import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from flywheel import redaction as redaction_module
from flywheel.redaction import api_key_strip, may_hold_secret
from flywheel_site import logging as site_logging
from flywheel_site.logging import MASK, redact

# One credential per pattern of flywheel_site.logging (add one here with every new pattern).
SECRETS = [
    "00D5f000000ABCD!AQ4AQFakeTokenFakeTokenFakeToken",
    "Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345",
    "sk-ant-api03-abcdefghijklmnop",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEfake\n-----END RSA PRIVATE KEY-----",
    '{"access_token": "opaque-value-123"}',
]


def test_every_credential_pattern_has_a_hint_the_fast_path_looks_for():
    assert len(SECRETS) == len(site_logging._PATTERNS)
    for pattern, secret in zip(site_logging._PATTERNS, SECRETS, strict=True):
        assert pattern.search(secret), secret
        assert may_hold_secret(secret), secret


@pytest.mark.parametrize("secret", SECRETS)
def test_credentials_nested_in_a_decision_are_masked(secret):
    stripped = api_key_strip({"messages": [{"role": "user", "content": f"lead note: {secret}"}]})

    content = stripped["messages"][0]["content"]
    assert MASK in content and content == f"lead note: {redact(secret)}"


def test_configured_api_key_is_masked_even_without_a_credential_shape(settings):
    settings.ANTHROPIC_API_KEY = "plainkeywithnoshape42"

    assert api_key_strip(["x plainkeywithnoshape42 y"]) == [f"x {MASK} y"]


def test_plain_decision_text_passes_through_unchanged(settings):
    settings.ANTHROPIC_API_KEY = ""
    context = {"lead": {"Company": "ACME 00Q5f", "Country": "Germany"}, "reasons": ["MM", 540]}

    assert api_key_strip(context) == context


def test_nothing_to_mask_returns_the_value_itself_not_a_copy(settings):
    settings.ANTHROPIC_API_KEY = "sk-ant-api03-configured"
    conversation = {"messages": [{"role": "system", "content": "Route the lead."}]}

    assert api_key_strip(conversation) is conversation


@pytest.mark.parametrize(
    "value",
    [
        {SECRETS[1]: "a credential in a key"},
        [["deep", ("tuple", {"x": f'quoted "{SECRETS[2]}"\n\tnext line'})]],
        {"when": dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "note": SECRETS[0]},
    ],
)
def test_credentials_anywhere_in_the_data_are_masked(value):
    stripped = api_key_strip(value)

    assert stripped != value and MASK in json.dumps(stripped, default=str)


def test_api_key_with_characters_json_escapes_is_still_masked(settings):
    settings.ANTHROPIC_API_KEY = 'key"with\\escapes'

    assert api_key_strip({"note": 'see key"with\\escapes here'}) == {"note": f"see {MASK} here"}


_TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from([*SECRETS, "plainkey\\42", "BEARER ", "x00Dy"]),
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_TEXT, children, max_size=4),
    max_leaves=12,
)


@hypothesis_settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_JSON)
def test_the_shortcut_masks_exactly_what_a_walk_of_every_string_masks(value):
    key = "plainkey\\42"

    assert redaction_module._strip(value, key) == _with_key(key, lambda: api_key_strip(value))


def _with_key(key: str, call):
    from django.test import override_settings

    with override_settings(ANTHROPIC_API_KEY=key):
        return call()


PLACES = ["context", "messages", "output", "explanation"]


@pytest.mark.django_db
@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("secret", [SECRETS[0], SECRETS[2], "TESTKEY-configured-0123456789"])
def test_a_credential_in_any_one_value_of_a_decision_is_masked_in_every_stored_text(
    settings, decide_case, place, secret
):
    # given the API key configured and a credential in exactly one value of a case (the others
    # clean, so the one joint check of the gateway must catch it)
    from django.forms.models import model_to_dict

    from flywheel.gateway import Rules
    from flywheel.models import Decision
    from tests.flywheel.conftest import MESSAGES, RULES_OUTPUT

    settings.ANTHROPIC_API_KEY = "TESTKEY-configured-0123456789"
    note = f"lead wrote: {secret}"
    output = {**RULES_OUTPUT, "reason": note[:200]} if place == "output" else dict(RULES_OUTPUT)
    explanation = note if place == "explanation" else "12 employees"
    overrides = {
        "rules": lambda _context: Rules(output=output, confidence=0.9, explanation=explanation)
    }
    if place == "context":
        overrides["context"] = {"lead": {"Description": note}}
    if place == "messages":
        overrides["messages"] = [*MESSAGES[:1], {"role": "user", "content": note}]
    # when the rules decide
    decide_case(**overrides)
    # then no stored text of the row holds it
    row = json.dumps(model_to_dict(Decision.objects.get()), default=str, ensure_ascii=False)
    assert secret.split("\n")[0] not in row and MASK in row
