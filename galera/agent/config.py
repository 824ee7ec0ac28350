"""The agent's own configuration file (YAML), validated with errors that name the key."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from galera.clusterfile import load_yaml
from galera.domain.health import HealthPolicy
from galera.errors import InvalidInput
from galera.render import MemberConfig

START_MODES = ("join", "none")
RUN_MODES = ("join", "new-cluster", "bootstrap", "initialize")
RESTART_POLICIES = ("always", "on-failure", "never")
_KEYS = (
    "name",
    "listen",
    "token_file",
    "token_env",
    "credentials_file",
    "mariadbd",
    "install_db",
    "config_file",
    "rundir",
    "start",
    "restart",
    "stop_timeout",
    "health",
    "server",
    "init_file",
)
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
    credentials_file: Path | None = None
    init_file: Path | None = None
    mariadbd: str = "/usr/sbin/mariadbd"
    install_db: str = "/usr/bin/mariadb-install-db"
    start: str = "join"
    restart: str = "always"
    stop_timeout: float = 120.0
    health: HealthPolicy = field(default_factory=HealthPolicy)

    def token(self) -> str | None:
        if self.token_env and os.environ.get(self.token_env):
            return os.environ[self.token_env].strip()
        if self.token_file is not None:
            try:
                return self.token_file.read_text().strip() or None
            except OSError as e:
                raise InvalidInput(f"token_file {self.token_file}: {e.strerror}") from None
        return None


def _choice(path: Path, key: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InvalidInput(f"{path}: {key}: {value!r} is not one of {', '.join(allowed)}")
    return str(value)


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


def parse(data: Any, path: Path) -> AgentConfig:
    """Validate a parsed agent config mapping; ``path`` anchors relative paths and errors."""
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: agent config must be a mapping")
    data = expand(data, path)
    for key in data:
        if key not in _KEYS:
            raise InvalidInput(f"{path}: {key}: unknown key; allowed: {', '.join(_KEYS)}")
    for key in ("name", "listen", "server"):
        if key not in data:
            raise InvalidInput(f"{path}: {key}: is required")
    host, sep, port = str(data["listen"]).rpartition(":")
    if not sep or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise InvalidInput(f"{path}: listen: expected HOST:PORT, got {data['listen']!r}")
    base = path.parent

    def opt_path(key: str) -> Path | None:
        value = data.get(key)
        if value in (None, ""):
            return None
        p = Path(str(value))
        return p if p.is_absolute() else base / p

    server_raw = data["server"]
    if not isinstance(server_raw, dict):
        raise InvalidInput(f"{path}: server: must be a mapping of wsrep settings")
    server_raw = {"name": data["name"], **server_raw}
    try:
        server = MemberConfig.from_mapping(server_raw)
    except InvalidInput as e:
        raise InvalidInput(f"{path}: {e.message}") from None
    health_raw = data.get("health") or {}
    if not isinstance(health_raw, dict) or set(health_raw) - {"donor_ok", "require_writable"}:
        raise InvalidInput(f"{path}: health: allowed keys are donor_ok, require_writable")
    for key, flag in health_raw.items():
        if not isinstance(flag, bool):
            raise InvalidInput(f"{path}: health.{key}: must be true or false, got {flag!r}")
    stop_timeout = data.get("stop_timeout", 120)
    if (
        isinstance(stop_timeout, bool)
        or not isinstance(stop_timeout, (int, float))
        or stop_timeout <= 0
    ):
        raise InvalidInput(f"{path}: stop_timeout: must be seconds above 0, got {stop_timeout!r}")
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
        credentials_file=opt_path("credentials_file"),
        init_file=opt_path("init_file"),
        mariadbd=str(data.get("mariadbd", "/usr/sbin/mariadbd")),
        install_db=str(data.get("install_db", "/usr/bin/mariadb-install-db")),
        start=_choice(path, "start", data.get("start", "join"), START_MODES),
        restart=_choice(path, "restart", data.get("restart", "always"), RESTART_POLICIES),
        stop_timeout=float(stop_timeout),
        health=HealthPolicy(
            bool(health_raw.get("donor_ok", False)), bool(health_raw.get("require_writable", False))
        ),
    )


def load(path: Path) -> AgentConfig:
    try:
        data = load_yaml(path.read_text())
    except FileNotFoundError:
        raise InvalidInput(f"agent config {path} does not exist") from None
    except yaml.YAMLError as e:
        raise InvalidInput(f"{path}: not valid YAML: {e}") from None
    return parse(data, path)
