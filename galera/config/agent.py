"""The agent's own configuration file (YAML), checked against ``agent.schema.json``."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from galera import tls, validation
from galera.config import load_schema, token, yamltext
from galera.domain.health import HealthPolicy
from galera.errors import InvalidInput
from galera.render import MemberConfig

START_MODES = ("join", "none")
RUN_MODES = ("join", "new-cluster", "bootstrap", "initialize")
RESTART_POLICIES = ("always", "on-failure", "never")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class AgentConfig:
    """Everything one agent needs; nothing in it assumes galeractl runs on the same host."""

    name: str
    listen_host: str
    listen_port: int
    rundir: Path
    config_file: Path
    server: MemberConfig
    token_file: Path | None = None
    token_env: str | None = None
    # A second token, accepted only to take a backup (POST /v1/backup): what a scheduled
    # backup holds instead of the token that allows every change. Absent file: none.
    backup_token_file: Path | None = None
    credentials_file: Path | None = None
    # The account that reloads TLS files (FLUSH SSL needs RELOAD, socket.ssl_reload SUPER),
    # so that credentials_file can stay a monitoring account. Optional: a missing file
    # (a Kubernetes Secret without admin.cnf) means credentials_file serves.
    admin_credentials_file: Path | None = None
    init_file: Path | None = None
    mariadbd: str = "/usr/sbin/mariadbd"
    install_db: str = "/usr/bin/mariadb-install-db"
    start: str = "join"
    restart: str = "always"
    stop_timeout: float = 120.0
    health: HealthPolicy = field(default_factory=HealthPolicy)
    # The member's certificate, key and the cluster CA: the agent serves HTTPS with them
    # and mariadbd uses them on every path. None: plaintext.
    tls: tls.Files | None = None

    def token(self) -> str | None:
        """The bearer token mutating requests must carry, or None if none is configured."""
        return token.resolve(self.token_env, self.token_file, "token_file")

    def backup_token(self) -> str | None:
        """The backup-only token, or None (no file configured, or not there)."""
        path = self.backup_token_file
        if path is None or not path.exists():
            return None
        return token.read_file(path, "backup_token_file")

    def token_source(self) -> Path | None:
        """The file the token comes from (watched for rotation), or None when it comes
        from the environment or is not configured."""
        if self.token_env and os.environ.get(self.token_env, "").strip():
            return None
        return self.token_file


def expand(value: Any, path: Path, key: str = "") -> Any:
    """Replace ``${NAME}`` in every string with the environment variable (a pod's name and
    IP come from the downward API this way); an unset variable is an error naming the key."""
    if isinstance(value, dict):
        return {k: expand(v, path, f"{key}.{k}" if key else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v, path, f"{key}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if not os.environ.get(name):
            raise InvalidInput(f"{path}: {key}: environment variable {name} is not set")
        return os.environ[name]

    return _ENV_REF.sub(one, value)


def _tls(data: dict[str, Any], path: Path) -> tls.Files | None:
    """The TLS files (relative to the configuration file), checked now: a missing, expired
    or mismatched certificate or an exposed key is one line naming it, before anything
    starts."""
    section = data.get("tls")
    if not section:
        return None
    files = tls.Files(*(path.parent / section[k] for k in ("ca", "cert", "key")))
    try:
        tls.check_apart(files, [data["server"]["node_address"]])
    except InvalidInput as e:
        raise InvalidInput(f"{path}: tls: {e.message}") from None
    return files


def _server(data: dict[str, Any], path: Path, files: tls.Files | None) -> MemberConfig:
    """The member's wsrep settings; the agent's name is the member's unless it names one."""
    values = {"name": data["name"], **data["server"]}
    values["peers"] = tuple(values["peers"])
    if files is not None:
        values.update(tls_ca=str(files.ca), tls_cert=str(files.cert), tls_key=str(files.key))
    try:
        return MemberConfig(**values)
    except InvalidInput as e:  # what every MemberConfig refuses (a secret in ``extra``)
        raise InvalidInput(f"{path}: server.{e.message}") from None


def parse(data: Any, path: Path) -> AgentConfig:
    """Validate a parsed agent config mapping; ``path`` anchors relative paths and errors."""
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: agent config must be a mapping")
    data = expand(data, path)
    validation.check(data, load_schema("agent"), str(path))
    host, _, port = data["listen"].rpartition(":")

    def opt_path(key: str) -> Path | None:
        value = data.get(key)
        return None if not value else path.parent / value  # an absolute value stays as is

    files = _tls(data, path)
    server = _server(data, path, files)
    health = data.get("health") or {}
    rundir = opt_path("rundir") or Path(server.datadir).parent
    return AgentConfig(
        name=str(data["name"]),
        listen_host=host or "0.0.0.0",
        listen_port=int(port),
        rundir=rundir,
        config_file=opt_path("config_file") or rundir / "my.cnf",
        server=server,
        token_file=opt_path("token_file"),
        token_env=data.get("token_env"),
        backup_token_file=opt_path("backup_token_file"),
        credentials_file=opt_path("credentials_file"),
        admin_credentials_file=opt_path("admin_credentials_file"),
        init_file=opt_path("init_file"),
        mariadbd=data.get("mariadbd", "/usr/sbin/mariadbd"),
        install_db=data.get("install_db", "/usr/bin/mariadb-install-db"),
        start=data.get("start", "join"),
        restart=data.get("restart", "always"),
        stop_timeout=float(data.get("stop_timeout", 120)),
        health=HealthPolicy(health.get("donor_ok", False), health.get("require_writable", False)),
        tls=files,
    )


def load(path: Path) -> AgentConfig:
    """Read and validate the agent's configuration file."""
    return parse(yamltext.parse(yamltext.read(path, "agent config"), path), path)
