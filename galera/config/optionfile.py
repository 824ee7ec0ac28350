"""MySQL option files (``[client]`` user and password): where SQL credentials come from."""

from __future__ import annotations

import configparser
from pathlib import Path

from galera.domain.credentials import Credentials
from galera.errors import InvalidInput


def _option_value(raw: str) -> str:
    """An option value as MariaDB reads it: quotes removed, an unquoted ``#`` starts a comment."""
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value.split("#", 1)[0].strip() if "#" in value else value


def read_option_file(path: Path) -> Credentials:
    """Read ``user`` and ``password`` from the ``[client]`` group of a MySQL option file."""
    try:
        text = path.read_text()
    except OSError as e:
        raise InvalidInput(f"credentials file {path}: {e.strerror}") from None
    return parse_option_text(text, f"credentials file {path}")


def parse_option_text(text: str, source: str) -> Credentials:
    """``user`` and ``password`` of the ``[client]`` group of option-file text; ``source``
    names where the text came from in errors (never the text itself)."""
    parser = configparser.ConfigParser(allow_no_value=True, interpolation=None, strict=False)
    try:
        parser.read_string(text, source=source)
    except configparser.Error as e:
        first = str(e).splitlines()[0].split(":")[0]
        raise InvalidInput(f"{source}: not an option file ({first})") from None
    if not parser.has_section("client"):
        raise InvalidInput(f"{source}: no [client] group")
    user = _option_value(parser.get("client", "user", fallback="") or "")
    password = _option_value(parser.get("client", "password", fallback="") or "")
    if not user:
        raise InvalidInput(f"{source}: [client] has no user")
    return Credentials(user, password)
