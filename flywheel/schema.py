"""A small JSON-schema validator for the subset the workloads' output schemas use.

Supported keywords: type (one or a list), enum, const, required, properties,
additionalProperties (bool or schema), items, minimum, maximum, minLength, maxLength, maxItems.
"""

from __future__ import annotations

from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


class SchemaError(ValueError):
    """The value does not match the schema; ``errors`` lists every problem with its path."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def schema_errors(value: Any, schema: dict, *, path: str = "$") -> list[str]:
    """Every way ``value`` breaks ``schema`` (empty when it conforms)."""
    type_error = _type_error(value, schema, path)
    if type_error:
        return [type_error]
    errors: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} is not one of {schema['enum']!r}")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: must be {schema['const']!r}")
    if isinstance(value, dict):
        errors += _object_errors(value, schema, path)
    elif isinstance(value, list):
        errors += _array_errors(value, schema, path)
    elif isinstance(value, str):
        errors += _string_errors(value, schema, path)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        errors += _number_errors(value, schema, path)
    return errors


def schema_validate(value: Any, schema: dict) -> None:
    errors = schema_errors(value, schema)
    if errors:
        raise SchemaError(errors)


def _type_error(value: Any, schema: dict, path: str) -> str | None:
    wanted = schema.get("type")
    if wanted is None:
        return None
    names = [wanted] if isinstance(wanted, str) else list(wanted)
    for name in names:
        if isinstance(value, bool) and name in ("integer", "number"):
            continue
        if isinstance(value, _TYPES.get(name, ())):
            return None
    return f"{path}: expected {' or '.join(names)}, got {type(value).__name__}"


def _object_errors(value: dict, schema: dict, path: str) -> list[str]:
    errors = [
        f"{path}: '{key}' is required" for key in schema.get("required", ()) if key not in value
    ]
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in properties:
            errors += schema_errors(item, properties[key], path=f"{path}.{key}")
        elif extra is False:
            errors.append(f"{path}: unexpected property '{key}'")
        elif isinstance(extra, dict):
            errors += schema_errors(item, extra, path=f"{path}.{key}")
    return errors


def _array_errors(value: list, schema: dict, path: str) -> list[str]:
    errors = []
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        errors.append(f"{path}: more than {schema['maxItems']} items")
    if isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            errors += schema_errors(item, schema["items"], path=f"{path}[{index}]")
    return errors


def _string_errors(value: str, schema: dict, path: str) -> list[str]:
    errors = []
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.append(f"{path}: longer than {schema['maxLength']} characters")
    if "minLength" in schema and len(value) < schema["minLength"]:
        errors.append(f"{path}: shorter than {schema['minLength']} characters")
    return errors


def _number_errors(value: float, schema: dict, path: str) -> list[str]:
    errors = []
    if "minimum" in schema and value < schema["minimum"]:
        errors.append(f"{path}: {value} is below the minimum {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        errors.append(f"{path}: {value} is above the maximum {schema['maximum']}")
    return errors
