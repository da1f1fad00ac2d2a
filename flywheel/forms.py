"""Review forms: a correction form built from a workload's output schema, and the export form."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from flywheel.exports import FORMATS
from flywheel.schema import schema_errors

_OMIT = object()  # a blank field whose key stays out of the corrected output
_BOOLEANS = [("", "—"), ("true", "true"), ("false", "false")]


class CorrectionForm(forms.Form):
    """One field per property of the output schema, filled with the decision's output.

    Blank fields leave their key out (or null where the schema allows null and the output had
    the key). The corrected output is checked against the schema; each error lands on its field.
    """

    def __init__(self, *args: Any, schema: dict, output: dict, **kwargs: Any) -> None:
        super().__init__(*args, prefix="output", **kwargs)
        self.schema, self.output = schema, output
        self.corrected: dict | None = None
        self.kinds: dict[str, str] = {}
        required = set(schema.get("required", ()))
        properties = schema.get("properties") or {}
        for name, prop in properties.items():
            self.fields[name], self.kinds[name] = _field(prop, required=name in required)
            self.initial[name] = _text(output.get(name))
        for name, value in output.items():
            if name not in properties:
                self.fields[name], self.kinds[name] = _field({}, required=False)
                self.initial[name] = _text(value)

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        corrected: dict = {}
        for name in self.fields:
            value = self._value(name, data.get(name, ""))
            if value is not _OMIT:
                corrected[name] = value
        for error in schema_errors(corrected, self.schema):
            name, message = _error_field(error)
            self.add_error(name if name in self.fields else None, message)
        self.corrected = corrected
        return data

    def _value(self, name: str, text: str) -> Any:
        prop = (self.schema.get("properties") or {}).get(name, {})
        if text == "":
            if name not in self.output:
                return _OMIT
            if self.output[name] in ("", None):
                return self.output[name]
            return None if _allows(prop, "null") else _OMIT
        try:
            return _parse(self.kinds[name], text)
        except ValueError as error:
            self.add_error(name, str(error))
            return _OMIT


def _field(prop: dict, *, required: bool) -> tuple[forms.Field, str]:
    """A form field for one schema property, and the kind of value it parses to."""
    enum = prop.get("enum")
    if isinstance(enum, list) and all(isinstance(v, str) for v in enum):
        field: forms.Field = forms.ChoiceField(
            choices=[("", "—"), *[(v, v) for v in enum]], required=required
        )
        kind = "string"
    elif _allows(prop, "boolean"):
        field = forms.ChoiceField(choices=_BOOLEANS, required=required)
        kind = "boolean"
    elif _allows(prop, "integer") or _allows(prop, "number"):
        field = forms.CharField(required=required)
        kind = "integer" if _allows(prop, "integer") else "number"
    elif _allows(prop, "string"):
        long = prop.get("maxLength", 0) > 120
        widget = forms.Textarea(attrs={"rows": 2, "cols": 80}) if long else forms.TextInput
        field = forms.CharField(required=required, strip=False, widget=widget)
        kind = "string"
    else:
        field = forms.CharField(
            required=required, widget=forms.Textarea(attrs={"rows": 2, "cols": 80})
        )
        kind = "json"
    field.help_text = _hint(prop)
    return field, kind


def _allows(prop: dict, name: str) -> bool:
    wanted = prop.get("type")
    return name == wanted or (isinstance(wanted, list) and name in wanted)


def _hint(prop: dict) -> str:
    wanted = prop.get("type")
    kinds = " or ".join(wanted) if isinstance(wanted, list) else (wanted or "JSON")
    bounds = [f"{key} {prop[key]}" for key in ("minimum", "maximum", "maxLength") if key in prop]
    return ", ".join([kinds, *bounds])


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _parse(kind: str, text: str) -> Any:
    if kind == "string":
        return text
    if kind == "boolean":
        return text == "true"
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a whole number.") from None
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number.") from None
        return int(number) if number.is_integer() and "." not in text else number
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise ValueError("Not valid JSON.") from None


def _error_field(error: str) -> tuple[str | None, str]:
    """('segment', message) for "$.segment: ..."; the required key for "$: 'x' is required"."""
    path, _, message = error.partition(": ")
    if path.startswith("$."):
        return path[2:].split(".")[0].split("[")[0], message
    if message.endswith("is required") and message.startswith("'"):
        return message.split("'")[1], "This field is required by the schema."
    return None, error


class ExportForm(forms.Form):
    workload = forms.ChoiceField(required=False)
    since = forms.DateField(required=False, help_text="Only decisions from this day on.")
    labeled_only = forms.BooleanField(required=False)
    format = forms.ChoiceField(choices=[(f, f.upper()) for f in FORMATS], initial="sft")
    split = forms.FloatField(
        required=False,
        min_value=0.01,
        max_value=0.99,
        help_text="Also write train/validation files with this share in train, e.g. 0.9.",
    )
    redact_pii = forms.BooleanField(
        required=False, initial=True, label="Redact e-mail addresses and phone numbers"
    )

    def __init__(self, *args: Any, workloads: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["workload"].choices = [("", "All"), *[(w, w) for w in sorted(workloads)]]
