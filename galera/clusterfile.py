"""The cluster file: a documented, user-facing description of one Galera cluster.

A DBA writes one by hand for VMs; ``galeractl sandbox up`` writes one for the sandbox. The
format is described in ``docs/cluster-file.md``. Loading validates everything up front and
names the bad key in the error.
"""

from __future__ import annotations

import configparser
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from galera.domain.snapshot import ExpectedMember
from galera.errors import InvalidInput
from galera.sql import Credentials

ENV_CLUSTER = "GALERACTL_CLUSTER"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$")
_TOP_KEYS = ("name", "credentials", "agent", "timeouts", "members", "sandbox")
_MEMBER_KEYS = ("name", "host", "port", "agent", "weight", "arbitrator")


@dataclass(frozen=True)
class MemberSpec:
    name: str
    host: str = ""
    port: int = 3306
    agent: str = ""
    weight: int = 1
    arbitrator: bool = False

    @property
    def expected(self) -> ExpectedMember:
        return ExpectedMember(self.name, self.weight, self.arbitrator)


@dataclass(frozen=True)
class ClusterSpec:
    """A validated cluster file."""

    path: Path
    name: str
    members: tuple[MemberSpec, ...]
    credentials_file: Path | None = None
    user: str | None = None
    password_env: str | None = None
    token_file: Path | None = None
    token_env: str | None = None
    connect_timeout: float = 2.0
    read_timeout: float = 5.0
    sandbox: dict[str, Any] = field(default_factory=dict)
    # Set when the members were discovered rather than read from a file (Kubernetes): the
    # credentials and agent token read from the cluster's Secret.
    secret_credentials: Credentials | None = field(default=None, repr=False)
    secret_token: str | None = field(default=None, repr=False)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.members)

    def member(self, name: str) -> MemberSpec:
        """The member called ``name``; an unknown name is a clear error listing the known ones."""
        for m in self.members:
            if m.name == name:
                return m
        raise InvalidInput(f"unknown member {name!r}; {self.path} has {', '.join(self.names)}")

    def credentials(self) -> Credentials:
        """Read the SQL credentials from where the file says they are."""
        if self.secret_credentials is not None:
            return self.secret_credentials
        if self.credentials_file is not None:
            return read_option_file(self.credentials_file)
        assert self.user is not None and self.password_env is not None
        password = os.environ.get(self.password_env)
        if password is None:
            raise InvalidInput(
                f"credentials.password_env: environment variable {self.password_env} is not set"
            )
        return Credentials(self.user, password)

    def agent_token(self) -> str | None:
        """The bearer token for mutating agent endpoints, or None if none is configured."""
        if self.secret_token:
            return self.secret_token
        if self.token_env:
            token = os.environ.get(self.token_env)
            if token:
                return token.strip()
        if self.token_file is not None:
            try:
                return self.token_file.read_text().strip()
            except OSError as e:
                raise InvalidInput(
                    f"agent.token_file: cannot read {self.token_file}: {e.strerror}"
                ) from None
        return None


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


def load_yaml(text: str) -> Any:
    """Safe YAML loading, with libyaml's C loader when it is available."""
    return yaml.load(text, Loader=_LOADER)


def _fail(path: Path, key: str, message: str) -> InvalidInput:
    return InvalidInput(f"{path}: {key}: {message}")


def _check_keys(path: Path, where: str, data: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for key in data:
        if key not in allowed:
            raise _fail(path, f"{where}{key}", f"unknown key; allowed: {', '.join(allowed)}")


def _str(path: Path, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, key, f"must be a non-empty string, got {value!r}")
    return value.strip()


def _int(path: Path, key: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(path, key, f"must be an integer from {low} to {high}, got {value!r}")
    return value


def _float(path: Path, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 3600:
        raise _fail(path, key, f"must be a number of seconds above 0, got {value!r}")
    return float(value)


def _relative(base: Path, value: str) -> Path:
    p = Path(os.path.expanduser(value))
    return p if p.is_absolute() else (base / p)


def _member(path: Path, index: int, raw: Any) -> MemberSpec:
    where = f"members[{index}]"
    if not isinstance(raw, dict):
        raise _fail(path, where, "must be a mapping with name, host, port, agent")
    _check_keys(path, f"{where}.", raw, _MEMBER_KEYS)
    if "name" not in raw:
        raise _fail(path, f"{where}.name", "is required")
    name = _str(path, f"{where}.name", raw["name"])
    if not _NAME_RE.match(name):
        raise _fail(
            path,
            f"{where}.name",
            f"{name!r} is not a valid member name (lower-case letters, digits, '-', '.')",
        )
    arbitrator = raw.get("arbitrator", False)
    if not isinstance(arbitrator, bool):
        raise _fail(path, f"{where}.arbitrator", f"must be true or false, got {arbitrator!r}")
    weight = _int(path, f"{where}.weight", raw.get("weight", 1), 0, 255)
    if arbitrator:
        host = str(raw.get("host", "") or "")
        return MemberSpec(name=name, host=host, port=0, weight=weight, arbitrator=True)
    if "host" not in raw:
        raise _fail(path, f"{where}.host", "is required for a data member")
    host = _str(path, f"{where}.host", raw["host"])
    port = _int(path, f"{where}.port", raw.get("port", 3306), 1, 65535)
    agent = raw.get("agent", "")
    if agent:
        agent = _str(path, f"{where}.agent", agent)
        if not re.match(r"^https?://[^/\s]+", agent):
            raise _fail(path, f"{where}.agent", f"must be an http(s):// URL, got {agent!r}")
    return MemberSpec(name=name, host=host, port=port, agent=agent.rstrip("/"), weight=weight)


def parse(text: str, path: Path) -> ClusterSpec:
    """Validate the text of a cluster file; ``path`` anchors relative paths and errors."""
    try:
        data = load_yaml(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or "invalid YAML"
        raise InvalidInput(f"{path}{where}: not valid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: must be a mapping with at least 'members'")
    _check_keys(path, "", data, _TOP_KEYS)
    base = path.parent

    name = _str(path, "name", data.get("name", "galera"))
    members_raw = data.get("members")
    if not isinstance(members_raw, list) or not members_raw:
        raise _fail(path, "members", "must be a non-empty list")
    members = tuple(_member(path, i, m) for i, m in enumerate(members_raw))
    seen: set[str] = set()
    for i, m in enumerate(members):
        if m.name in seen:
            raise _fail(path, f"members[{i}].name", f"{m.name!r} appears twice")
        seen.add(m.name)
    if all(m.arbitrator for m in members):
        raise _fail(path, "members", "needs at least one data member (not only arbitrators)")

    creds = data.get("credentials")
    if not isinstance(creds, dict):
        raise _fail(
            path, "credentials", "is required: {file: PATH} or {user: U, password_env: VAR}"
        )
    _check_keys(path, "credentials.", creds, ("file", "user", "password_env"))
    credentials_file = user = password_env = None
    if "file" in creds:
        if "user" in creds or "password_env" in creds:
            raise _fail(path, "credentials", "give either file, or user and password_env, not both")
        credentials_file = _relative(base, _str(path, "credentials.file", creds["file"]))
    else:
        user = _str(path, "credentials.user", creds.get("user"))
        password_env = _str(path, "credentials.password_env", creds.get("password_env"))

    agent = data.get("agent") or {}
    if not isinstance(agent, dict):
        raise _fail(path, "agent", "must be a mapping with token_file or token_env")
    _check_keys(path, "agent.", agent, ("token_file", "token_env"))
    token_file = (
        _relative(base, _str(path, "agent.token_file", agent["token_file"]))
        if "token_file" in agent
        else None
    )
    token_env = _str(path, "agent.token_env", agent["token_env"]) if "token_env" in agent else None

    timeouts = data.get("timeouts") or {}
    if not isinstance(timeouts, dict):
        raise _fail(path, "timeouts", "must be a mapping with connect and read")
    _check_keys(path, "timeouts.", timeouts, ("connect", "read"))
    sandbox = data.get("sandbox") or {}
    if not isinstance(sandbox, dict):
        raise _fail(path, "sandbox", "must be a mapping")

    return ClusterSpec(
        path=path,
        name=name,
        members=members,
        credentials_file=credentials_file,
        user=user,
        password_env=password_env,
        token_file=token_file,
        token_env=token_env,
        connect_timeout=_float(path, "timeouts.connect", timeouts.get("connect", 2.0)),
        read_timeout=_float(path, "timeouts.read", timeouts.get("read", 5.0)),
        sandbox=sandbox,
    )


def load(path: Path) -> ClusterSpec:
    """Read and validate a cluster file."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise InvalidInput(f"cluster file {path} does not exist") from None
    except OSError as e:
        raise InvalidInput(f"cluster file {path}: {e.strerror}") from None
    return parse(text, path)


def dump(data: dict[str, Any]) -> str:
    """Serialise a cluster file mapping (used by the sandbox when it writes one)."""
    header = "# galeractl cluster file; format: docs/cluster-file.md\n"
    return header + yaml.safe_dump(data, sort_keys=False)
