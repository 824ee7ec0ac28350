"""The local sandbox platform: a real Galera cluster of ``mariadbd`` processes on this machine.

Members are named ``galera-0``, ``galera-1``, … like StatefulSet pods; each has its own agent
(a detached ``galeractl agent`` process) that supervises its ``mariadbd``. On loopback the
members share 127.0.0.1 with distinct ports; with ``netns`` each member lives in its own
network namespace with its own address, which makes partitions possible.

This module provisions and operates processes; waiting for the cluster to converge is the
controller's business (``galera.controller.sandbox``).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from galera import clusterfile
from galera.agent_client import AgentClient
from galera.domain import grastate
from galera.errors import InvalidInput, OperationFailed, UnsafeOperation
from galera.platforms import processes
from galera.platforms.netns import Network
from galera.render import MemberConfig, render_member_config

ENV_DIR = "GALERACTL_SANDBOX_DIR"
MAX_NODES = 9
DEFAULT_BASE_PORT = 23300
ARBITRATOR = "garbd"
STATE_FILE = "sandbox.json"
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
        return f"http://{self.address}:{self.agent_port}"


def _plan(root: Path, nodes: int, base_port: int, netns: bool, network: Network,
          arbitrator: bool) -> list[MemberPlan]:
    names = [f"galera-{i}" for i in range(nodes)] + ([ARBITRATOR] if arbitrator else [])
    plans = []
    for i, name in enumerate(names):
        if netns:
            ports = (3306, 4567, 4568, 4444, 8008)
            address = network.address(i)
        else:
            slot = i if name != ARBITRATOR else MAX_NODES
            ports = tuple(base_port + offset + slot for offset in (0, 10, 20, 30, 40))
            address = "127.0.0.1"
        plans.append(MemberPlan(name, i, address, *ports, home=root / "members" / name,
                                netns=netns))
    return plans


def _write_secret(path: Path, text: str) -> None:
    """Write a file readable by its owner only (mode 0600 from the start)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


class Sandbox:
    """One sandbox directory and the processes it owns."""

    def __init__(self, root: Path, state: dict[str, Any]) -> None:
        self.root = root
        self.state = state
        self.network = Network(**state.get("network", {}))
        self.members = _plan(root, state["nodes"], state["base_port"], state["netns"],
                             self.network, state["arbitrator"])

    # -- files --------------------------------------------------------------------------

    @property
    def cluster_file(self) -> Path:
        return self.root / "cluster.yaml"

    @property
    def client_cnf(self) -> Path:
        return self.root / "client.cnf"

    @property
    def secrets_cnf(self) -> Path:
        return self.root / "secrets.cnf"

    @property
    def token_file(self) -> Path:
        return self.root / "agent.token"

    def save(self) -> None:
        tmp = self.root / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(self.state, indent=2))
        os.replace(tmp, self.root / STATE_FILE)

    def member(self, name: str) -> MemberPlan:
        for m in self.members:
            if m.name == name:
                return m
        raise InvalidInput(f"unknown member {name!r}; the sandbox in {self.root} has "
                           f"{', '.join(m.name for m in self.members)}")

    @property
    def data_members(self) -> list[MemberPlan]:
        return [m for m in self.members if m.name != ARBITRATOR]

    def spec(self) -> clusterfile.ClusterSpec:
        return clusterfile.load(self.cluster_file)

    def client(self, name: str, timeout: float = 5.0) -> AgentClient:
        return AgentClient(self.member(name).agent_url, self.token_file.read_text().strip(),
                           member=name, timeout=timeout)

    # -- loading and creating -----------------------------------------------------------

    @classmethod
    def load(cls, root: Path) -> Sandbox:
        path = root / STATE_FILE
        try:
            state = json.loads(path.read_text())
        except FileNotFoundError:
            raise InvalidInput(f"no sandbox in {root} (no {STATE_FILE}); "
                               "create one with: galeractl sandbox up") from None
        except ValueError:
            raise InvalidInput(f"{path} is corrupt (not JSON); remove {root} by hand") from None
        return cls(root, state)

    @classmethod
    def prepare(cls, root: Path, nodes: int, netns: bool = False, arbitrator: bool = False,
                base_port: int = DEFAULT_BASE_PORT, cluster_name: str = "sandbox") -> Sandbox:
        """Validate everything, then lay out the directory, credentials and configs.

        Nothing is written before every check has passed: a refused ``up`` changes nothing.
        """
        if not 1 <= nodes <= MAX_NODES:
            raise InvalidInput(f"--nodes must be from 1 to {MAX_NODES}, got {nodes}")
        if not 1024 <= base_port <= 65000:
            raise InvalidInput(f"--base-port must be from 1024 to 65000, got {base_port}")
        for binary in (MARIADBD, PROVIDER, INSTALL_DB, CLIENT) + ((GARBD,) if arbitrator else ()):
            if not Path(binary).exists():
                raise InvalidInput(f"{binary} is missing", hint="run scripts/setup to install "
                                   "mariadb-server, galera-4 and galera-arbitrator-4")
        if (root / STATE_FILE).exists():
            existing = cls.load(root)
            what = "a running" if existing.running_agents() else "a stopped"
            raise UnsafeOperation(f"{root} already holds {what} sandbox",
                                  hint=f"galeractl sandbox down --purge --dir {root}")
        if root.exists() and any(root.iterdir()):
            raise InvalidInput(f"{root} exists and is not empty; choose another --dir")
        network = Network()
        plans = _plan(root, nodes, base_port, netns, network, arbitrator)
        if netns:
            if os.geteuid() != 0:
                raise InvalidInput("--netns needs root (network namespaces)")
            if network.exists():
                raise UnsafeOperation(f"bridge {network.bridge} exists: another --netns sandbox "
                                      "is up", hint="galeractl sandbox down on that one first")
            problem = network.available()
            if problem:
                raise InvalidInput(f"network namespaces are not available here: {problem}")
        else:
            for plan in plans:
                for port in (plan.sql_port, plan.galera_port, plan.ist_port, plan.sst_port,
                             plan.agent_port):
                    if processes.port_in_use("127.0.0.1", port):
                        raise InvalidInput(f"port {port} on 127.0.0.1 is in use",
                                           hint="stop what uses it or pass --base-port")
        if len(str(plans[-1].socket)) > 100:
            raise InvalidInput(f"--dir {root} is too long for a unix socket path; use a shorter one")

        root.mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o700)
        state = {"version": 1, "cluster_name": cluster_name, "nodes": nodes, "netns": netns,
                 "arbitrator": arbitrator, "base_port": base_port, "agent_pids": {},
                 "garbd_pid": None, "created": time.time()}
        sandbox = cls(root, state)
        sandbox._write_files()
        sandbox.save()
        return sandbox

    def _write_files(self) -> None:
        admin_pw, sst_pw = secrets.token_hex(16), secrets.token_hex(16)
        _write_secret(self.client_cnf, f"[client]\nuser = galeractl\npassword = {admin_pw}\n")
        _write_secret(self.secrets_cnf, f"[mysqld]\nwsrep_sst_auth = sst:{sst_pw}\n")
        _write_secret(self.token_file, secrets.token_hex(24) + "\n")
        _write_secret(self.root / "seed.sql", "\n".join([
            f"CREATE USER 'galeractl'@'%' IDENTIFIED BY '{admin_pw}';",
            "GRANT ALL PRIVILEGES ON *.* TO 'galeractl'@'%' WITH GRANT OPTION;",
            f"CREATE USER 'galeractl'@'localhost' IDENTIFIED BY '{admin_pw}';",
            "GRANT ALL PRIVILEGES ON *.* TO 'galeractl'@'localhost' WITH GRANT OPTION;",
            f"CREATE USER 'sst'@'localhost' IDENTIFIED BY '{sst_pw}';",
            "GRANT RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR, REPLICA MONITOR "
            "ON *.* TO 'sst'@'localhost';",
            "",
        ]))
        peers = [f"{m.address}:{m.galera_port}" for m in self.members]
        for m in self.data_members:
            m.home.mkdir(parents=True, exist_ok=True)
            server = self.member_config(m, peers)
            agent = {
                "name": m.name,
                "listen": f"{m.address}:{m.agent_port}",
                "token_file": str(self.token_file),
                "credentials_file": str(self.client_cnf),
                "rundir": str(m.home),
                "config_file": str(m.home / "my.cnf"),
                "restart": "always",
                "stop_timeout": 60,
                "server": {k: (list(v) if isinstance(v, tuple) else v)
                           for k, v in server.__dict__.items() if k != "name"},
            }
            (m.home / "agent.yaml").write_text(yaml.safe_dump(agent, sort_keys=False))
        members: list[dict[str, Any]] = []
        for m in self.members:
            if m.name == ARBITRATOR:
                members.append({"name": m.name, "arbitrator": True, "host": m.address})
            else:
                members.append({"name": m.name, "host": m.address, "port": m.sql_port,
                                "agent": m.agent_url})
        self.cluster_file.write_text(clusterfile.dump({
            "name": self.state["cluster_name"],
            "credentials": {"file": self.client_cnf.name},
            "agent": {"token_file": self.token_file.name},
            "timeouts": {"connect": 2, "read": 5},
            "members": members,
            "sandbox": {"dir": str(self.root), "netns": self.state["netns"]},
        }))

    def member_config(self, m: MemberPlan, peers: list[str]) -> MemberConfig:
        return MemberConfig(
            name=m.name, cluster_name=self.state["cluster_name"], datadir=str(m.datadir),
            socket=str(m.socket), pid_file=str(m.pid_file),
            log_error=str(m.home / "mariadbd.err"), peers=tuple(peers),
            node_address=m.address, port=m.sql_port, galera_port=m.galera_port,
            ist_port=m.ist_port, sst_port=m.sst_port, bind_address=m.address,
            listen_address=m.address, gcache_size="32M", user="root",
            secrets_file=str(self.secrets_cnf), innodb_buffer_pool_size="64M",
            innodb_log_file_size="32M", innodb_flush_log_at_trx_commit=2, small=True,
        )

    # -- network ------------------------------------------------------------------------

    def prefix(self, m: MemberPlan) -> list[str]:
        return self.network.exec_prefix(m.name) if m.netns else []

    def create_network(self) -> None:
        if self.state["netns"]:
            self.network.create([m.name for m in self.members])

    def partition(self, names: list[str]) -> None:
        if not self.state["netns"]:
            raise InvalidInput("partitions need a sandbox made with --netns")
        addresses = {m.name: m.address for m in self.members}
        self.network.partition(names, addresses)

    def heal(self) -> None:
        if not self.state["netns"]:
            raise InvalidInput("partitions need a sandbox made with --netns")
        self.network.heal([m.name for m in self.members])

    # -- seeding ------------------------------------------------------------------------

    def seed(self) -> None:
        """Give every member the same initial history so joiners need no full SST.

        galera-0 is initialised, started alone as a new cluster, given its users, and shut
        down cleanly; its data directory is then copied to the other members with
        ``safe_to_bootstrap: 0``. When they join, their position equals the cluster's and
        the state transfer is an empty IST instead of a full copy.
        """
        first = self.data_members[0]
        first.datadir.mkdir(parents=True, exist_ok=True)
        result = subprocess.run([INSTALL_DB, "--no-defaults", f"--datadir={first.datadir}",
                                 "--user=root", "--skip-test-db",
                                 "--auth-root-authentication-method=socket"],
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise OperationFailed(f"mariadb-install-db failed: {result.stderr.strip()[-300:]}",
                                  member=first.name)
        peers = [f"{m.address}:{m.galera_port}" for m in self.members]
        config = first.home / "my.cnf"
        config.write_text(render_member_config(self.member_config(first, peers)))
        log = first.home / "seed.log"
        with open(log, "ab") as out:
            proc = subprocess.Popen([*self.prefix(first), MARIADBD, f"--defaults-file={config}",
                                     "--wsrep-new-cluster"], stdout=out, stderr=out,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            self._run_seed_sql(first, proc)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(SEED_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise OperationFailed("seed server did not shut down cleanly",
                                      member=first.name) from None
        state_path = first.datadir / "grastate.dat"
        seeded = grastate.parse(state_path.read_text(), str(state_path))
        if not seeded.safe_to_bootstrap or seeded.needs_recovery:
            raise OperationFailed(f"seed left an unexpected grastate ({seeded.position})",
                                  member=first.name)
        skip = shutil.ignore_patterns("galera.cache", "gvwstate.dat", "*.pid", "*.sock")
        for m in self.data_members[1:]:
            shutil.copytree(first.datadir, m.datadir, ignore=skip, dirs_exist_ok=True)
            copy = grastate.Grastate(seeded.version, seeded.uuid, seeded.seqno, False)
            (m.datadir / "grastate.dat").write_text(copy.render())

    def _run_seed_sql(self, m: MemberPlan, proc: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + SEED_TIMEOUT
        sql = (self.root / "seed.sql").read_text()
        while True:
            if proc.poll() is not None:
                raise OperationFailed(f"seed server exited with code {proc.returncode}; see "
                                      f"{m.home / 'mariadbd.err'}", member=m.name)
            result = subprocess.run([CLIENT, "--no-defaults", f"--socket={m.socket}", "-u",
                                     "root", "--batch"], input=sql, capture_output=True,
                                    text=True, check=False)
            if result.returncode == 0:
                (self.root / "seed.sql").unlink()
                return
            if time.monotonic() > deadline:
                raise OperationFailed(f"seed server not ready: {result.stderr.strip()[-200:]}",
                                      member=m.name)
            time.sleep(0.3)

    # -- processes ----------------------------------------------------------------------

    def launch_agent(self, name: str, mode: str = "join") -> int:
        """Start the member's agent detached; ``mode`` is the first start of mariadbd."""
        m = self.member(name)
        pid = self.state["agent_pids"].get(name)
        if m.netns and not self.network.exists():
            self.network.destroy([p.name for p in self.members])
            self.create_network()
        if processes.alive(pid):
            raise UnsafeOperation(f"agent already running (pid {pid})", member=name)
        cmd = [*self.prefix(m), sys.executable, "-m", "galera", "agent",
               "--config", str(m.home / "agent.yaml"), "--start", mode]
        pid = processes.spawn_detached(cmd, m.home / "agent.log")
        self.state["agent_pids"][name] = pid
        self.save()
        return pid

    def launch_arbitrator(self) -> int:
        m = self.member(ARBITRATOR)
        if processes.alive(self.state.get("garbd_pid")):
            raise UnsafeOperation("garbd is already running", member=ARBITRATOR)
        m.home.mkdir(parents=True, exist_ok=True)
        peers = ",".join(f"{p.address}:{p.galera_port}" for p in self.data_members)
        cmd = [*self.prefix(m), GARBD, "--address", f"gcomm://{peers}", "--group",
               self.state["cluster_name"], "--name", ARBITRATOR, "--options",
               f"gmcast.listen_addr=tcp://{m.address}:{m.galera_port}; pc.weight=1",
               "--log", str(m.home / "garbd.log")]
        pid = processes.spawn_detached(cmd, m.home / "garbd.out")
        self.state["garbd_pid"] = pid
        self.save()
        return pid

    def agent_alive(self, name: str) -> bool:
        if name == ARBITRATOR:
            return processes.alive(self.state.get("garbd_pid"))
        return processes.alive(self.state["agent_pids"].get(name))

    def check_agents(self, names: list[str]) -> None:
        """Raise when the agent of one of ``names`` has exited (instead of waiting in vain)."""
        for name in names:
            if name != ARBITRATOR and not self.agent_alive(name):
                log = self.member(name).home / "agent.log"
                tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() \
                    else []
                raise OperationFailed(f"agent exited; see {log}"
                                      + (f" (last line: {tail[0][-200:]})" if tail else ""),
                                      member=name)

    def running_agents(self) -> list[str]:
        return [m.name for m in self.members if self.agent_alive(m.name)]

    def mariadbd_pid(self, name: str) -> int | None:
        pid = processes.read_pid(self.member(name).pid_file)
        return pid if processes.alive(pid) else None

    def kill(self, name: str, signame: str = "KILL") -> None:
        """Fault injection: signal the member's server; its agent holds it down."""
        signame = signame.upper().removeprefix("SIG")
        if signame not in ("KILL", "TERM"):
            raise InvalidInput(f"--signal must be KILL or TERM, got {signame!r}")
        m = self.member(name)
        if name == ARBITRATOR:
            pid = self.state.get("garbd_pid")
            if not processes.alive(pid):
                raise OperationFailed("garbd is not running", member=name)
            os.kill(pid, getattr(signal, f"SIG{signame}"))
            return
        if self.agent_alive(name):
            self.client(name, timeout=10).kill(signame)
            return
        pid = self.mariadbd_pid(m.name)
        if pid is None:
            raise OperationFailed("mariadbd is not running", member=name)
        os.kill(pid, getattr(signal, f"SIG{signame}"))

    def start(self, name: str) -> None:
        """Start the member again in join mode (through its agent, launching it if needed)."""
        self.member(name)
        if name == ARBITRATOR:
            self.launch_arbitrator()
        elif self.agent_alive(name):
            self.client(name, timeout=10).start("join")
        else:
            self.launch_agent(name, "join")

    def down(self, purge: bool = False) -> list[str]:
        """Stop every agent (each stops its mariadbd cleanly, in parallel), garbd, the network."""
        stopped = []
        agents = {m.name: self.state["agent_pids"].get(m.name) for m in self.data_members}
        for name, pid in agents.items():
            if processes.alive(pid):
                os.kill(pid, signal.SIGTERM)
                stopped.append(name)
        for m in self.data_members:
            processes.terminate(agents[m.name], timeout=90)
            stray = self.mariadbd_pid(m.name)
            if stray:
                processes.terminate(stray, timeout=60)
        if processes.alive(self.state.get("garbd_pid")):
            processes.terminate(self.state["garbd_pid"], timeout=10)
            stopped.append(ARBITRATOR)
        self.state["agent_pids"] = {}
        self.state["garbd_pid"] = None
        if self.state["netns"]:
            self.network.destroy([m.name for m in self.members])
        if purge:
            shutil.rmtree(self.root, ignore_errors=True)
        else:
            self.save()
        return stopped
