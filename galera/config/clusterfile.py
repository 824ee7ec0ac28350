"""The cluster file: a documented, user-facing description of one Galera cluster.

A DBA writes one by hand for VMs; ``galeractl sandbox up`` writes one for the sandbox. The
format is described in ``docs/cluster-file.md`` and checked against ``cluster.schema.json``;
loading validates everything up front and names the bad key in the error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from galera import tls
from galera.config import load_schema, token, yamltext
from galera.config.optionfile import read_option_file
from galera.domain.credentials import Credentials
from galera.domain.snapshot import ExpectedMember
from galera.errors import InvalidInput

ENV_CLUSTER = "GALERACTL_CLUSTER"


@dataclass(frozen=True)
class MemberSpec:
    name: str
    host: str = ""
    port: int = 3306
    agent: str = ""
    weight: int = 1
    arbitrator: bool = False
    # The name its certificate carries when that is not ``host``: on Kubernetes the pod's
    # IP is dialled (no DNS lookup) and its name under the headless Service verified.
    tls_name: str = ""

    @property
    def expected(self) -> ExpectedMember:
        return ExpectedMember(self.name, self.weight, self.arbitrator)


@dataclass(frozen=True)
class Account:
    """Where one SQL account's credentials are: an option file, or a user and the
    environment variable holding its password. ``key`` names it in errors."""

    key: str
    file: Path | None = None
    user: str | None = None
    password_env: str | None = None

    def read(self) -> Credentials:
        if self.file is not None:
            return read_option_file(self.file)
        assert self.user is not None and self.password_env is not None
        password = os.environ.get(self.password_env)
        if password is None:
            raise InvalidInput(
                f"{self.key}.password_env: environment variable {self.password_env} is not set"
            )
        return Credentials(self.user, password)


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
    # Where clients reach the writer and the readers through a proxy ({writer, reader}).
    proxy: dict[str, str] = field(default_factory=dict)
    # HAProxy runtime API sockets (``stats socket ... level admin``) that galeractl tells at
    # once where writes go, instead of waiting for their health checks to notice.
    proxy_admin: tuple[Path, ...] = ()
    # Set when the members were discovered rather than read from a file (Kubernetes): the
    # credentials, the admin account (if any) and agent token read from the cluster's Secret.
    secret_credentials: Credentials | None = field(default=None, repr=False)
    secret_admin: Credentials | None = field(default=None, repr=False)
    secret_token: str | None = field(default=None, repr=False)
    # The account for what changes server state (SET GLOBAL: pc.bootstrap, conflict
    # logging); without one, ``credentials`` serve for both.
    admin: Account | None = None
    # The cluster's CA: every SQL and agent connection verifies the member against it.
    # None with ``tls_off`` (an explicit choice, reported by ``status``) or when the file
    # says nothing (reported too).
    tls_ca: Path | None = None
    tls_off: bool = False

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
        if self.credentials_file is None and self.user is None:
            raise InvalidInput(
                "no SQL account: this command reads the members' SQL, and the cluster's "
                "secrets give no client.cnf"
            )
        return Account("credentials", self.credentials_file, self.user, self.password_env).read()

    def admin_credentials(self) -> Credentials:
        """The account for statements that change server state (``SET GLOBAL``); the
        monitoring account when no admin account is configured."""
        if self.secret_admin is not None:
            return self.secret_admin
        if self.admin is not None:
            return self.admin.read()
        return self.credentials()

    def tls_files(self) -> tls.Files | None:
        """The CA galeractl verifies every member with, or None when TLS is off."""
        return tls.Files(self.tls_ca) if self.tls_ca is not None else None

    def agent_token(self) -> str | None:
        """The bearer token for mutating agent endpoints, or None if none is configured."""
        if self.secret_token:
            return self.secret_token
        return token.resolve(self.token_env, self.token_file, "agent.token_file")


def _fail(path: Path, key: str, message: str) -> InvalidInput:
    return InvalidInput(f"{path}: {key}: {message}")


def _relative(base: Path, value: str) -> Path:
    p = Path(os.path.expanduser(value.strip()))
    return p if p.is_absolute() else (base / p)


def _sockets(path: Path, value: str | list[str] | None) -> tuple[Path, ...]:
    """``proxy.admin``: one socket path or a list of them (a proxy per host)."""
    values = [value] if isinstance(value, str) else value or []
    return tuple(_relative(path.parent, v) for v in values)


def _stripped(value: str | None) -> str | None:
    return value.strip() if value is not None else None


def _member(raw: dict[str, Any]) -> MemberSpec:
    """A member that passed the schema."""
    name, weight = raw["name"].strip(), raw.get("weight", 1)
    if raw.get("arbitrator", False):
        host = str(raw.get("host", "") or "")
        return MemberSpec(name=name, host=host, port=0, weight=weight, arbitrator=True)
    agent = (raw.get("agent") or "").strip().rstrip("/")
    port = raw.get("port", 3306)
    return MemberSpec(name=name, host=raw["host"].strip(), port=port, agent=agent, weight=weight)


def _check_across(path: Path, data: dict[str, Any], members: tuple[MemberSpec, ...]) -> None:
    """What the schema cannot say: unique names, a data member, one form of credentials."""
    seen: set[str] = set()
    for i, m in enumerate(members):
        if m.name in seen:
            raise _fail(path, f"members[{i}].name", f"{m.name!r} appears twice")
        seen.add(m.name)
    if all(m.arbitrator for m in members):
        raise _fail(path, "members", "needs at least one data member (not only arbitrators)")
    for key in ("credentials", "admin_credentials"):
        account = data.get(key) or {}
        if "file" in account and {"user", "password_env"} & set(account):
            raise _fail(path, key, "give either file, or user and password_env, not both")


def _account(path: Path, data: dict[str, Any], key: str) -> Account | None:
    account = data.get(key)
    if not account:
        return None
    return Account(
        key,
        file=_relative(path.parent, account["file"]) if "file" in account else None,
        user=_stripped(account.get("user")),
        password_env=_stripped(account.get("password_env")),
    )


def parse(text: str, path: Path) -> ClusterSpec:
    """Validate the text of a cluster file; ``path`` anchors relative paths and errors."""
    data = yamltext.valid_document(
        text, path, load_schema("cluster"), "must be a mapping with at least 'members'"
    )
    members = tuple(_member(m) for m in data["members"])
    _check_across(path, data, members)
    creds, agent = data["credentials"], data.get("agent") or {}
    timeouts, tls_section = data.get("timeouts") or {}, data.get("tls") or {}
    return ClusterSpec(
        path=path,
        name=data.get("name", "galera").strip(),
        members=members,
        credentials_file=_relative(path.parent, creds["file"]) if "file" in creds else None,
        user=_stripped(creds.get("user")),
        password_env=_stripped(creds.get("password_env")),
        token_file=_relative(path.parent, agent["token_file"]) if "token_file" in agent else None,
        token_env=_stripped(agent.get("token_env")),
        connect_timeout=float(timeouts.get("connect", 2.0)),
        read_timeout=float(timeouts.get("read", 5.0)),
        sandbox=data.get("sandbox") or {},
        proxy={k: str(v) for k, v in (data.get("proxy") or {}).items() if k != "admin"},
        proxy_admin=_sockets(path, (data.get("proxy") or {}).get("admin")),
        admin=_account(path, data, "admin_credentials"),
        tls_ca=_relative(path.parent, tls_section["ca"]) if "ca" in tls_section else None,
        tls_off=tls_section.get("enabled") is False,
    )


def load(path: Path) -> ClusterSpec:
    """Read and validate a cluster file."""
    return parse(yamltext.read(path, "cluster file"), path)


def dump(data: dict[str, Any]) -> str:
    """Serialise a cluster file mapping (used by the sandbox when it writes one)."""
    header = "# galeractl cluster file; format: docs/cluster-file.md\n"
    import yaml  # only when a file is written

    return header + yaml.safe_dump(data, sort_keys=False)
