"""YAML text as every configuration file is read: safe loading, one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from galera import validation
from galera.errors import InvalidInput


def load_yaml(text: str) -> Any:
    """Safe YAML loading, with libyaml's C loader when it is available."""
    import yaml  # only when a file is not known valid already

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def parse(text: str, path: Path) -> Any:
    """The YAML document in ``text``; bad YAML is one line naming ``path`` and the line."""
    import yaml

    try:
        return load_yaml(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or "invalid YAML"
        raise InvalidInput(f"{path}{where}: not valid YAML: {problem}") from None


def read(path: Path, what: str) -> str:
    """The text of the file ``what`` (e.g. "cluster file") at ``path``, or one clear line."""
    try:
        return path.read_text()
    except FileNotFoundError:
        raise InvalidInput(f"{what} {path} does not exist") from None
    except OSError as e:
        raise InvalidInput(f"{what} {path}: {e.strerror}") from None


def valid_document(
    text: str, path: Path, schema: dict[str, Any], not_a_mapping: str
) -> dict[str, Any]:
    """The mapping in ``text``, valid against ``schema``: parsed and validated, or as it was
    when this exact text was found valid against this exact schema before."""
    data = validation.known(text, schema)
    if isinstance(data, dict):
        return data
    data = parse(text, path)
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: {not_a_mapping}")
    validation.check(data, schema, str(path))
    validation.remember(text, schema, data)
    return data
