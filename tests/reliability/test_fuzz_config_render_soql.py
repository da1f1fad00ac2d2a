"""Garbage config files, template bodies and SOQL values: load_config refuses with a clear
message and keeps the old config; rendering never evaluates lead data; quoted values parse in
the emulator's SOQL engine and match exactly themselves."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from hypothesis import assume, given
from hypothesis import strategies as st

from routing.models import Rep, RoutingPolicy
from salesforce.soql import soql_in, soql_quote
from sf_emulator.soql import execute
from templates_app.models import EmailTemplate
from templates_app.rendering import KNOWN_VARIABLES, render, template_problems
from tests.emulator.test_soql import FakeOrg
from tests.reliability.conftest import examples
from tests.reliability.strategies import json_values, text

CONFIG = Path(__file__).resolve().parents[2] / "config"
ROUTING = json.loads((CONFIG / "routing_policy.json").read_text())
TEMPLATES = json.loads((CONFIG / "templates.json").read_text())


def _paths(value: object, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:3]):
            found += _paths(item, (*prefix, index))
    return found


@st.composite
def broken_configs(draw: st.DrawFn, original: dict) -> object:
    """The seed file with one value replaced or removed, or any JSON at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values())
    data = copy.deepcopy(original)
    path = draw(st.sampled_from(_paths(data)[1:]))
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    if draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(json_values(4))
    return data


def _snapshot() -> tuple:
    return (
        list(RoutingPolicy.objects.order_by("pk").values_list("pk", "version", "is_active")),
        list(Rep.objects.order_by("pk").values()),
        list(EmailTemplate.objects.order_by("pk").values()),
    )


@pytest.fixture
def loaded(db, tmp_path):
    call_command("load_config", verbosity=0)
    return tmp_path


def _write(folder: Path, name: str, data: object, *, raw: str | None = None) -> Path:
    path = folder / name
    path.write_text(raw if raw is not None else json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.django_db
@examples(30)
@given(data=broken_configs(ROUTING), raw=st.one_of(st.none(), text()))
def test_broken_routing_file_is_refused_clearly_and_changes_nothing(loaded, data, raw):
    before = _snapshot()
    routing = _write(loaded, "routing.json", data, raw=raw)

    try:
        call_command("load_config", routing=routing, verbosity=0)
    except CommandError as error:
        assert str(routing) in str(error) and "not loaded" in str(error)
        assert _snapshot() == before


@pytest.mark.django_db
@examples(30)
@given(data=broken_configs(TEMPLATES), raw=st.one_of(st.none(), text()))
def test_broken_templates_file_is_refused_clearly_and_changes_nothing(loaded, data, raw):
    before = _snapshot()
    templates = _write(loaded, "templates.json", data, raw=raw)

    try:
        call_command(
            "load_config", routing=CONFIG / "routing_policy.json", templates=templates, verbosity=0
        )
    except CommandError as error:
        assert str(templates) in str(error)
        assert _snapshot() == before


@pytest.mark.parametrize(
    ("option", "name", "edit", "place"),
    [
        (
            "templates",
            "templates.json",
            ("templates", 0, "keywords", 0),
            "templates[0].keywords[0]",
        ),
        ("templates", "templates.json", ("templates", 1, "body"), "templates[1].body"),
        ("routing", "routing.json", ("fallback_queue",), "fallback_queue"),
    ],
)
def test_a_nul_character_in_a_config_file_is_refused_with_its_place(
    loaded, option, name, edit, place
):
    # Given a config file with a NUL character (found by hypothesis: PostgreSQL stores none)
    data = copy.deepcopy(TEMPLATES if option == "templates" else ROUTING)
    parent = data
    for key in edit[:-1]:
        parent = parent[key]
    parent[edit[-1]] = "\x00" + str(parent.get(edit[-1], "") if isinstance(parent, dict) else "")
    before = _snapshot()
    path = _write(loaded, name, data)
    paths = {"routing": CONFIG / "routing_policy.json", "templates": CONFIG / "templates.json"}

    # When it is loaded, it is refused naming the place, and nothing changes
    with pytest.raises(CommandError) as refused:
        call_command("load_config", **{**paths, option: path}, verbosity=0)
    assert f"holds a NUL character (\\u0000) in {place}" in str(refused.value)
    assert _snapshot() == before


variables = st.sampled_from(sorted(KNOWN_VARIABLES))
placeholder = variables.map(lambda name: "{{ " + name + " }}")


@examples(200)
@given(
    body=st.lists(st.one_of(text(), placeholder), max_size=6).map("".join),
    values=st.dictionaries(variables, st.one_of(text(), json_values(3)), max_size=6),
)
def test_rendering_any_body_never_raises_or_evaluates_lead_data(body, values):
    problems = template_problems(body)

    rendered = render(subject=body[:200], body=body, values=values)

    assert isinstance(problems, list)
    assert len(rendered.subject) <= 255
    assert "test-only-secret-key" not in rendered.body
    assert set(rendered.missing) <= set(KNOWN_VARIABLES)


@examples(100)
@given(value=text().filter(lambda v: len(v) < 2000))
def test_lead_text_that_looks_like_template_code_stays_literal(value):
    shown = " ".join(value.replace("\x00", "").replace("\r", " ").split())[:500]
    assume(shown)

    rendered = render(subject="Hi", body="Dear {{ Company }}!", values={"Company": value})

    assert rendered.body == f"Dear {shown}!"


@pytest.fixture(scope="module")
def org() -> FakeOrg:
    return FakeOrg()


@examples(150)
@given(value=st.text(min_size=1, max_size=80))
def test_quoted_values_parse_and_match_exactly_themselves(org, value):
    company = "fz:" + value
    lead_id = org.add("Lead", LastName="Fuzz", Company=company)

    try:
        single = execute(f"SELECT Id, Company FROM Lead WHERE Company = {soql_quote(company)}", org)
        listed = execute(
            f"SELECT Id FROM Lead WHERE Company IN {soql_in([company, 'fz:none'])} LIMIT 5", org
        )
    finally:
        org.tables["Lead"].pop(lead_id)

    assert [r["Id"] for r in single.records] == [lead_id]
    assert single.records[0]["Company"] == company
    assert [r["Id"] for r in listed.records] == [lead_id]


@pytest.mark.django_db
def test_a_config_typo_is_refused_with_the_reason_and_the_active_policy_stays(loaded):
    before = _snapshot()
    broken = copy.deepcopy(ROUTING)
    broken["segments"][0]["min"] = "ten"
    routing = _write(loaded, "routing.json", broken)
    not_json = _write(loaded, "bad.json", None, raw='{"segments": [')

    with pytest.raises(CommandError, match="active policy is unchanged"):
        call_command("load_config", routing=routing, verbosity=0)
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("load_config", routing=not_json, verbosity=0)
    assert _snapshot() == before
