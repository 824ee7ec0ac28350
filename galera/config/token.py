"""The agent's bearer token: one resolver for galeractl (the cluster file) and the agent."""

from __future__ import annotations

import os
from pathlib import Path

from galera.errors import InvalidInput


def read_file(path: Path, key: str) -> str:
    """The token in ``path``, stripped; a missing, unreadable or empty file is one line
    naming the configuration ``key`` and the file (a token must never silently be absent)."""
    try:
        token = path.read_text().strip()
    except OSError as e:
        raise InvalidInput(f"{key}: cannot read {path}: {e.strerror}") from None
    if not token:
        raise InvalidInput(f"{key}: {path} is empty")
    return token


def resolve(env: str | None, file: Path | None, key: str) -> str | None:
    """The token from the environment variable ``env`` when it is set and not blank, else
    from ``file`` (see :func:`read_file`, ``key`` names the file's key), else None."""
    if env:
        value = os.environ.get(env, "").strip()
        if value:
            return value
    if file is not None:
        return read_file(file, key)
    return None
