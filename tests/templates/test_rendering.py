"""Lead data is data: rendering never evaluates it, and bad templates are refused on save."""

import pytest
from django.core.exceptions import ValidationError

from templates_app.models import EmailTemplate
from templates_app.rendering import render, template_problems


def test_placeholders_are_filled_and_defaults_cover_missing_values():
    rendered = render(
        subject="Hello {{ Company }}",
        body='Hi {{ FirstName|default:"there" }}, {{ Title|default:"" }}bye',
        values={"Company": "Acme"},
    )

    assert rendered.subject == "Hello Acme"
    assert rendered.body == "Hi there, bye"
    assert rendered.missing == ("FirstName", "Title")


@pytest.mark.parametrize(
    "hostile",
    [
        "{{ secret }}",
        "{% load static %}{% debug %}",
        "{{ FirstName }}",
        "<script>alert(1)</script>",
        "${7*7} #{7*7} {{7*7}}",
        "Zoë 🚀 Ñandú 北京",
    ],
)
def test_hostile_lead_values_stay_literal(hostile):
    rendered = render(
        subject="{{ Company }}",
        body="Dear {{ FirstName }}",
        values={"FirstName": hostile, "Company": hostile},
    )

    assert rendered.body == "Dear " + hostile
    assert rendered.subject == hostile


def test_newlines_in_lead_values_cannot_inject_into_the_subject():
    rendered = render(
        subject="Re: {{ Company }}", body="", values={"Company": "Acme\r\nBcc: x@evil.test"}
    )

    assert "\n" not in rendered.subject and "\r" not in rendered.subject


def test_oversized_values_are_truncated():
    rendered = render(subject="", body="{{ Company }}", values={"Company": "x" * 100_000})

    assert len(rendered.body) <= 500


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Hi {{ Secret }}", "Unknown variable 'Secret'"),
        ("{% load static %}", "not a valid placeholder"),
        ("{{ FirstName|upper }}", "not a valid placeholder"),
        ("Hi {{ FirstName", "Unbalanced"),
        ("{# comment #}", "not a valid placeholder"),
    ],
)
def test_invalid_templates_are_described(text, problem):
    assert any(problem in message for message in template_problems(text))


def test_valid_template_has_no_problems():
    assert template_problems('Hi {{ FirstName|default:"there" }} from {{ OwnerName }}') == []


@pytest.mark.django_db
def test_model_validation_refuses_unknown_variables_on_save():
    template = EmailTemplate(name="x", intent="general", subject="Hi {{ Nope }}", body="ok")

    with pytest.raises(ValidationError) as error:
        template.full_clean()

    assert "subject" in error.value.message_dict
