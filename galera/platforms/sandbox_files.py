"""Layout of a sandbox directory: member addresses and ports, credentials, configs."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from galera.config import certdir, clusterfile
from galera.platforms.netns import Network
from galera.platforms.proxy import ADMIN_SOCKET
from galera.render import MemberConfig

if TYPE_CHECKING:
    from galera.platforms.sandbox import Sandbox

ENV_DIR = "GALERACTL_SANDBOX_DIR"
MAX_NODES = 9
DEFAULT_BASE_PORT = 23300
ARBITRATOR = "garbd"
MARIADBD = "/usr/sbin/mariadbd"
PROVIDER = "/usr/lib/galera/libgalera_smm.so"
GARBD = "/usr/bin/garbd"
INSTALL_DB = "/usr/bin/mariadb-install-db"
CLIENT = "/usr/bin/mariadb"
SEED_TIMEOUT = 60.0


def default_dir() -> Path:
    return Path(os.environ.get(ENV_DIR, "~/.galeractl/sandbox")).expanduser()


@dataclass(frozen=True)
class MemberPlan:
    """Where one sandbox member lives: its address, ports and files."""

    name: str
    index: int
    address: str
    sql_port: int
    galera_port: int
    ist_port: int
    sst_port: int
    agent_port: int
    home: Path
    netns: bool
    tls: bool = True

    @property
    def datadir(self) -> Path:
        return self.home / "data"

    @property
    def socket(self) -> Path:
        return self.home / "mysqld.sock"

    @property
    def pid_file(self) -> Path:
        return self.home / "mariadbd.pid"

    @property
    def agent_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.address}:{self.agent_port}"

    @property
    def names(self) -> list[str]:
        """What its certificate names: its address (peers and clients use it) and name."""
        return [self.address, self.name, "localhost"]


def plan(
    root: Path,
    nodes: int,
    base_port: int,
    netns: bool,
    network: Network,
    arbitrator: bool,
    tls: bool = True,
) -> list[MemberPlan]:
    names = [f"galera-{i}" for i in range(nodes)] + ([ARBITRATOR] if arbitrator else [])
    plans = []
    for i, name in enumerate(names):
        if netns:
            ports: tuple[int, ...] = (3306, 4567, 4568, 4444, 8008)
            address = network.address(i)
        else:
            slot = i if name != ARBITRATOR else MAX_NODES
            ports = tuple(base_port + offset + slot for offset in (0, 10, 20, 30, 40))
            address = "127.0.0.1"
        sql, galera, ist, sst, agent = ports
        home = root / "members" / name
        plans.append(MemberPlan(name, i, address, sql, galera, ist, sst, agent, home, netns, tls))
    return plans


def write_secret(path: Path, text: str) -> None:
    """Write a file readable by its owner only (mode 0600 from the start)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def write_files(sb: Sandbox) -> None:
    admin_pw, sst_pw = secrets.token_hex(16), secrets.token_hex(16)
    write_secret(sb.client_cnf, f"[client]\nuser = galeractl\npassword = {admin_pw}\n")
    write_secret(sb.secrets_cnf, f"[mysqld]\nwsrep_sst_auth = sst:{sst_pw}\n")
    write_secret(sb.token_file, secrets.token_hex(24) + "\n")
    write_secret(
        sb.root / "seed.sql",
        "\n".join(
            [
                f"CREATE OR REPLACE USER 'galeractl'@'%' IDENTIFIED BY '{admin_pw}';",
                "GRANT ALL PRIVILEGES ON *.* TO 'galeractl'@'%' WITH GRANT OPTION;",
                f"CREATE OR REPLACE USER 'galeractl'@'localhost' IDENTIFIED BY '{admin_pw}';",
                "GRANT ALL PRIVILEGES ON *.* TO 'galeractl'@'localhost' WITH GRANT OPTION;",
                f"CREATE OR REPLACE USER 'sst'@'localhost' IDENTIFIED BY '{sst_pw}';",
                "GRANT RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR, REPLICA MONITOR "
                "ON *.* TO 'sst'@'localhost';",
                "",
            ]
        ),
    )
    tls_on = bool(sb.state.get("tls"))
    if tls_on:
        certdir.create(sb.tls_dir, sb.state["cluster_name"], {m.name: m.names for m in sb.members})
    peers = [f"{m.address}:{m.galera_port}" for m in sb.members]
    for m in sb.data_members:
        (m.home / "tmp").mkdir(parents=True, exist_ok=True)
        server = member_config(sb, m, peers)
        agent = {
            "name": m.name,
            "listen": f"{m.address}:{m.agent_port}",
            "token_file": str(sb.token_file),
            "credentials_file": str(sb.client_cnf),
            # The users of a brand-new cluster (used only by an `initialize` start; the
            # default seeding creates them itself and removes the file).
            "init_file": str(sb.root / "seed.sql"),
            "rundir": str(m.home),
            "config_file": str(m.home / "my.cnf"),
            "restart": "always",
            "stop_timeout": 60,
            "server": {
                k: (list(v) if isinstance(v, tuple) else v)
                for k, v in server.__dict__.items()
                if k not in ("name", "secure_file_priv")  # the agent sets its own
                and not k.startswith("tls_")  # from the tls section
            },
        }
        if tls_on:
            where = certdir.files(sb.tls_dir, m.name)
            agent["tls"] = {"ca": str(where.ca), "cert": str(where.cert), "key": str(where.key)}
        (m.home / "agent.yaml").write_text(yaml.safe_dump(agent, sort_keys=False))
    members: list[dict[str, Any]] = []
    for m in sb.members:
        if m.name == ARBITRATOR:
            members.append({"name": m.name, "arbitrator": True, "host": m.address})
        else:
            members.append(
                {"name": m.name, "host": m.address, "port": m.sql_port, "agent": m.agent_url}
            )
    sb.cluster_file.write_text(
        clusterfile.dump(
            {
                "name": sb.state["cluster_name"],
                "credentials": {"file": sb.client_cnf.name},
                "agent": {"token_file": sb.token_file.name},
                "timeouts": {"connect": 2, "read": 5},
                "tls": {"ca": f"tls/{certdir.CA}"} if tls_on else {"enabled": False},
                "members": members,
                **_proxy(sb),
                "sandbox": {"dir": str(sb.root), "netns": sb.state["netns"]},
            }
        )
    )


def _proxy(sb: Sandbox) -> dict[str, Any]:
    ports = sb.state.get("proxy")
    if not ports:
        return {}
    return {
        "proxy": {
            "writer": f"127.0.0.1:{ports['writer_port']}",
            "reader": f"127.0.0.1:{ports['reader_port']}",
            "admin": str(sb.root / "proxy" / ADMIN_SOCKET),
        }
    }


def garbd_tls(sb: Sandbox, m: MemberPlan) -> str:
    """garbd's provider options for TLS ("" when the sandbox has none)."""
    if not sb.state.get("tls"):
        return ""
    where = certdir.files(sb.tls_dir, m.name)
    return (
        f"; socket.ssl=YES; socket.ssl_ca={where.ca}; "
        f"socket.ssl_cert={where.cert}; socket.ssl_key={where.key}"
    )


def member_config(sb: Sandbox, m: MemberPlan, peers: list[str]) -> MemberConfig:
    return MemberConfig(
        name=m.name,
        cluster_name=sb.state["cluster_name"],
        datadir=str(m.datadir),
        socket=str(m.socket),
        pid_file=str(m.pid_file),
        log_error=str(m.home / "mariadbd.err"),
        tmpdir=str(m.home / "tmp"),
        peers=tuple(peers),
        node_address=m.address,
        port=m.sql_port,
        galera_port=m.galera_port,
        ist_port=m.ist_port,
        sst_port=m.sst_port,
        bind_address=m.address,
        listen_address=m.address,
        gcache_size="32M",
        user="root",
        secrets_file=str(sb.secrets_cnf),
        innodb_buffer_pool_size="64M",
        innodb_log_file_size="32M",
        innodb_flush_log_at_trx_commit=2,
        small=True,
    )


# -- network ------------------------------------------------------------------------
