"""YAML text as every configuration file is read: safe loading, one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from galera.errors import InvalidInput

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """Safe YAML loading, with libyaml's C loader when it is available."""
    return yaml.load(text, Loader=_LOADER)


def parse(text: str, path: Path) -> Any:
    """The YAML document in ``text``; bad YAML is one line naming ``path`` and the line."""
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
