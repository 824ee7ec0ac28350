"""One style of configuration errors: the key path and what is allowed, from JSON Schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from galera import validation
from galera.config import agent, clusterfile, load_schema
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
    assert validation.check({"name": "a", "port": 80.0}, SCHEMA, "v", validation.STANDARD) is None


def test_an_unknown_key_is_named_before_what_it_leaves_missing() -> None:
    assert problem({"nmae": "a"}) == "f.yaml: nmae: unknown key; allowed: " + ", ".join(
        SCHEMA["properties"]
    )


def test_problems_come_in_document_order() -> None:
    assert problem({"port": 0, "name": 1}).startswith("f.yaml: port: ")
    assert problem({"name": 1, "port": 0}).startswith("f.yaml: name: ")


@pytest.mark.parametrize("name", ["cluster", "agent"])
def test_shipped_schemas_are_valid_draft_7(name: str) -> None:
    schema = load_schema(name)
    jsonschema.Draft7Validator.check_schema(schema)  # raises SchemaError when invalid
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 70000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", " ", "db-0", "DB_0", "h:1", "http://h:1", "join", "x" * 70]),
)
_KEYS = st.sampled_from(
    [
        "name",
        "host",
        "port",
        "agent",
        "weight",
        "arbitrator",
        "members",
        "credentials",
        "file",
        "user",
        "password_env",
        "timeouts",
        "connect",
        "listen",
        "server",
        "health",
        "peers",
    ]
)
_DATA = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(members=st.lists(_DATA, max_size=3), extra=st.dictionaries(_KEYS, _DATA, max_size=3))
def test_nothing_but_invalid_input_escapes_the_cluster_file(
    members: list[Any], extra: dict[str, Any]
) -> None:
    data = {"credentials": {"file": "c.cnf"}, "members": members, **extra}
    try:
        clusterfile.parse(yaml.safe_dump(data), Path("/c.yaml"))
    except InvalidInput as e:
        assert "\n" not in str(e)


@settings(max_examples=300, deadline=None)
@given(server=_DATA, extra=st.dictionaries(_KEYS, _DATA, max_size=3))
def test_nothing_but_invalid_input_escapes_the_agent_config(
    server: Any, extra: dict[str, Any]
) -> None:
    data = {"name": "a", "listen": ":1", "server": server, **extra}
    try:
        agent.parse(data, Path("/a.yaml"))
    except InvalidInput as e:
        assert "\n" not in str(e)
