"""One style of configuration errors: the key path and what is allowed, from JSON Schema."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from galera import validation
from galera.config import load_schema
from galera.errors import InvalidInput

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "description": "a name"},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "mode": {"enum": ["on", "off", True]},
        "items": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
        "timeout": {"type": "number", "exclusiveMinimum": 0},
    },
}


def problem(instance: Any, validator: Any = validation.STRICT) -> str:
    with pytest.raises(InvalidInput) as raised:
        validation.check(instance, SCHEMA, "f.yaml", validator)
    return str(raised.value)


@pytest.mark.parametrize(
    ("instance", "expected"),
    [
        ({"name": "a", "port": "x"}, "f.yaml: port: must be an integer from 1 to 65535 (got 'x')"),
        (
            {"name": "a", "port": 80.0},
            "f.yaml: port: must be an integer from 1 to 65535 (got 80.0)",
        ),
        ({"name": 5}, "f.yaml: name: must be a name (got 5)"),
        ({}, "f.yaml: name: is required (a name)"),
        ({"name": "a", "nmae": "b"}, "f.yaml: nmae: unknown key; allowed: name, port, mode"),
        ({"name": "a", "mode": "auto"}, "f.yaml: mode: must be one of on, off, true (got 'auto')"),
        ({"name": "a", "items": []}, "f.yaml: items: must be a non-empty list (got [])"),
        ({"name": "a", "items": [""]}, "f.yaml: items[0]: must be a non-empty string (got '')"),
        ({"name": "a", "timeout": 0}, "f.yaml: timeout: must be a number above 0 (got 0)"),
        ("x" * 100, "f.yaml: (top level): must be a mapping (got 'xxxxx"),
    ],
    ids=[
        "range",
        "float-is-no-integer",
        "description",
        "required",
        "unknown-key",
        "enum",
        "empty-list",
        "list-item",
        "exclusive-minimum",
        "long-value-cut",
    ],
)
def test_the_first_problem_is_one_line_naming_the_key(instance: Any, expected: str) -> None:
    message = problem(instance)
    assert message.startswith(expected)
    assert "\n" not in message
    assert len(message) < 200


def test_standard_integers_accept_a_whole_float() -> None:
    validation.check({"name": "a", "port": 80.0}, SCHEMA, "v", validation.STANDARD)


def test_an_unknown_key_is_named_before_what_it_leaves_missing() -> None:
    assert problem({"nmae": "a"}) == "f.yaml: nmae: unknown key; allowed: " + ", ".join(
        SCHEMA["properties"]
    )


def test_problems_come_in_document_order() -> None:
    assert problem({"port": 0, "name": 1}).startswith("f.yaml: port: ")
    assert problem({"name": 1, "port": 0}).startswith("f.yaml: name: ")


@pytest.mark.parametrize("name", ["cluster", "agent"])
def test_shipped_schemas_are_valid_draft_7(name: str) -> None:
    jsonschema.Draft7Validator.check_schema(load_schema(name))
