"""JSON Schema validation in one style for every configuration galeractl reads.

The cluster file, the agent configuration and the Kubernetes values are each checked against
a JSON Schema; the first error becomes one line that names the source, the key path and what
is allowed, e.g. ``cluster.yaml: members[1].port: must be an integer from 1 to 65535 (got 'x')``.

What a value must be is the schema node's ``description`` when it has one (write it as the
noun phrase that follows "must be"), otherwise it is derived from ``type``, the bounds and
``enum``. A missing key is "is required", followed by its ``description`` in parentheses.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from galera.errors import InvalidInput

STRICT = "strict"  # configuration files: integers are ints only (not ``3306.0``)
STANDARD = "standard"  # the Helm values: Draft 7 as `helm install` applies it

_TYPES = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "empty",
}


def _validator(kind: str) -> Any:
    """The jsonschema validator class, imported only when a document is not known valid
    (importing jsonschema takes ~0.1 s, most of a ``galeractl status``)."""
    import jsonschema

    if kind == STANDARD:
        return jsonschema.Draft7Validator

    def strict_integer(checker: Any, instance: object) -> bool:
        return isinstance(instance, int) and not isinstance(instance, bool)

    return jsonschema.validators.extend(
        jsonschema.Draft7Validator,
        type_checker=jsonschema.Draft7Validator.TYPE_CHECKER.redefine("integer", strict_integer),
    )


def check(instance: Any, schema: dict[str, Any], source: str, validator: str = STRICT) -> None:
    """Raise :class:`InvalidInput` naming ``source`` and the first problem, if there is one.

    Unknown keys come first (a typo explains the missing key that follows from it), then
    the other problems in document order, a mapping's missing keys before its bad values.
    """

    def order(error: Any) -> tuple[bool, list[int], bool]:
        unknown = error.validator == "additionalProperties"
        required = error.validator == "required"
        return not unknown, _position(instance, error.absolute_path), not required

    errors = sorted(_validator(validator)(schema).iter_errors(instance), key=order)
    if errors:
        raise InvalidInput(f"{source}: {describe(errors[0])}")


def known(text: str, schema: dict[str, Any]) -> Any | None:
    """The document ``text`` was parsed to when it was last found valid against ``schema``
    (see :func:`remember`); None when never, or when either changed since.

    Parsing YAML and importing jsonschema take most of a short command's time; a file read
    again unchanged (every ``galeractl status``) needs neither. The note is kept under
    ``$XDG_CACHE_HOME/galeractl/valid/<sha256 of the schema and the text>`` (else
    ``~/.cache``) and only ever saves work: without a writable cache every read validates.
    """
    note = _note(text, schema)
    try:
        fd = os.open(note, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd) as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid():
            return None  # only this user's own regular files are trusted
        try:
            return json.loads(f.read())
        except ValueError:
            return None


def remember(text: str, schema: dict[str, Any], document: Any) -> None:
    """Note that ``text`` parses to ``document``, which is valid against ``schema`` (only
    when the document survives JSON unchanged, so that :func:`known` gives it back exactly)."""
    try:
        encoded = json.dumps(document)
        if json.loads(encoded) != document:
            return
        note = _note(text, schema)
        note.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if note.parent.stat().st_uid != os.getuid():
            return  # a directory someone else made: note nothing there
        note.parent.chmod(0o700)
        tmp = note.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(encoded)
        os.replace(tmp, note)
    except (OSError, TypeError, ValueError):
        pass  # a read-only home (a container): validate every time


def _note(text: str, schema: dict[str, Any]) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    key = json.dumps(schema, sort_keys=True) + "\0" + text
    return Path(base) / "galeractl" / "valid" / hashlib.sha256(key.encode()).hexdigest()


def _position(root: Any, path: Iterable[Any]) -> list[int]:
    """Where ``path`` is in the document: the index of each key or item on the way."""
    out, node = [], root
    for part in path:
        if isinstance(node, dict):
            keys = list(node)
            out.append(keys.index(part) if part in node else len(keys))
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            out.append(part)
            node = node[part]
        else:
            out.append(0)
            node = None
    return out


def key_path(path: Iterable[Any], key: str | None = None) -> str:
    """``members[1].port`` for the path ``["members", 1, "port"]``."""
    parts = [*path, *([key] if key is not None else [])]
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)
    return text.lstrip(".") or "(top level)"


def describe(error: Any) -> str:
    """One line for one :class:`jsonschema.ValidationError`: the key path and the problem."""
    path = list(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = list(error.schema.get("properties") or {})
        unknown = next(k for k in error.instance if k not in allowed)
        return f"{key_path(path, str(unknown))}: unknown key; allowed: {', '.join(allowed)}"
    if error.validator == "required":
        missing = next(k for k in error.validator_value if k not in error.instance)
        hint = (error.schema.get("properties") or {}).get(missing, {}).get("description")
        return f"{key_path(path, missing)}: is required" + (f" ({hint})" if hint else "")
    return f"{key_path(path)}: must be {expected(error.schema)} (got {_got(error.instance)})"


def expected(schema: dict[str, Any]) -> str:
    """What a value of ``schema`` must be, as the phrase that follows "must be"."""
    if "description" in schema:
        return str(schema["description"])
    if "enum" in schema:
        return "one of " + ", ".join(_show(v) for v in schema["enum"])
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    if types in (["integer"], ["number"]):
        return _TYPES[types[0]] + _bounds(schema)
    if types == ["string"] and schema.get("minLength"):
        return "a non-empty string"
    if types == ["string"] and "pattern" in schema:
        return f"a string matching {schema['pattern']}"
    if types == ["array"] and schema.get("minItems"):
        return "a non-empty list" + _items(schema)
    if types == ["array"]:
        return "a list" + _items(schema)
    if types:
        return " or ".join(_TYPES.get(t, t) for t in types)
    return "valid here"


def _bounds(schema: dict[str, Any]) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    above = schema.get("exclusiveMinimum")
    if low is not None and high is not None:
        return f" from {low} to {high}"
    if above is not None:
        return f" above {above}" + (f" and at most {high}" if high is not None else "")
    if low is not None:
        return f" of at least {low}"
    if high is not None:
        return f" of at most {high}"
    return ""


def _items(schema: dict[str, Any]) -> str:
    most = schema.get("maxItems")
    return f" of at most {most} items" if most is not None else ""


def _show(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _got(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
