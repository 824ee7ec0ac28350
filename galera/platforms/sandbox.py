"""The local sandbox platform: a real Galera cluster of ``mariadbd`` processes on this machine.

Members are named ``galera-0``, ``galera-1``, … like StatefulSet pods; each has its own agent
(a detached ``galeractl agent`` process) that supervises its ``mariadbd``. On loopback the
members share 127.0.0.1 with distinct ports; with ``netns`` each member lives in its own
network namespace with its own address, which makes partitions possible.

This module provisions and operates processes; waiting for the cluster to converge is the
controller's business (``galera.controller.sandbox``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

from galera import tls
from galera.agent_client import AgentClient
from galera.config import certdir, clusterfile, token
from galera.domain.position import Position
from galera.errors import InvalidInput, OperationFailed, UnsafeOperation
from galera.platforms import haproxy_admin, processes, proxy, sandbox_files, seed
from galera.platforms.local import STATE_FILE
from galera.platforms.netns import Network
from galera.platforms.proxy import HAPROXY
from galera.platforms.sandbox_files import (
    ARBITRATOR,
    CLIENT,
    DEFAULT_BASE_PORT,
    GARBD,
    INSTALL_DB,
    MARIADBD,
    MAX_NODES,
    PROVIDER,
    MemberPlan,
    default_dir,
    plan,
)

__all__ = ["ARBITRATOR", "MAX_NODES", "Sandbox", "default_dir"]


class Sandbox:
    """One sandbox directory and the processes it owns."""

    def __init__(self, root: Path, state: dict[str, Any]) -> None:
        self.root = root
        self.state = state
        self.network = Network(**state.get("network", {}))
        self.members = plan(
            root,
            state["nodes"],
            state["base_port"],
            state["netns"],
            self.network,
            state["arbitrator"],
            state.get("tls", False),
        )

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
        raise InvalidInput(
            f"unknown member {name!r}; the sandbox in {self.root} has "
            f"{', '.join(m.name for m in self.members)}"
        )

    @property
    def data_members(self) -> list[MemberPlan]:
        return [m for m in self.members if m.name != ARBITRATOR]

    def spec(self) -> clusterfile.ClusterSpec:
        return clusterfile.load(self.cluster_file)

    @property
    def tls_dir(self) -> Path:
        """The sandbox's CA and certificates (when TLS is on, the default)."""
        return self.root / "tls"

    def client(self, name: str, timeout: float = 5.0) -> AgentClient:
        context = None
        if self.state.get("tls"):
            context = tls.client_context(tls.Files(self.tls_dir / certdir.CA))
        return AgentClient(
            self.member(name).agent_url,
            token.read_file(self.token_file, "sandbox agent token"),
            member=name,
            timeout=timeout,
            tls=context,
        )

    # -- loading and creating -----------------------------------------------------------

    @classmethod
    def load(cls, root: Path) -> Sandbox:
        path = root / STATE_FILE
        try:
            state = json.loads(path.read_text())
        except FileNotFoundError:
            raise InvalidInput(
                f"no sandbox in {root} (no {STATE_FILE}); create one with: galeractl sandbox up"
            ) from None
        except ValueError:
            raise InvalidInput(f"{path} is corrupt (not JSON); remove {root} by hand") from None
        return cls(root, state)

    @classmethod
    def prepare(
        cls,
        root: Path,
        nodes: int,
        netns: bool = False,
        arbitrator: bool = False,
        base_port: int = DEFAULT_BASE_PORT,
        cluster_name: str = "sandbox",
        tls: bool = True,
        proxy: bool = False,
        network: Network | None = None,
    ) -> Sandbox:
        """Validate everything, then lay out the directory, credentials and configs.

        Nothing is written before every check has passed: a refused ``up`` changes nothing.
        ``network`` (with ``netns``) is the bridge, namespaces and subnet to use: the
        default one unless another sandbox's is up beside this one.
        """
        if not 1 <= nodes <= MAX_NODES:
            raise InvalidInput(f"--nodes must be from 1 to {MAX_NODES}, got {nodes}")
        if not 1024 <= base_port <= 65000:
            raise InvalidInput(f"--base-port must be from 1024 to 65000, got {base_port}")
        for binary in (MARIADBD, PROVIDER, INSTALL_DB, CLIENT) + ((GARBD,) if arbitrator else ()):
            if not Path(binary).exists():
                raise InvalidInput(
                    f"{binary} is missing",
                    hint="run scripts/setup to install "
                    "mariadb-server, galera-4 and galera-arbitrator-4",
                )
        if proxy and not Path(HAPROXY).exists():
            raise InvalidInput(f"{HAPROXY} is missing", hint="run scripts/setup (haproxy)")
        if (root / STATE_FILE).exists():
            existing = cls.load(root)
            what = "a running" if existing.running_agents() else "a stopped"
            raise UnsafeOperation(
                f"{root} already holds {what} sandbox",
                hint=f"galeractl sandbox down --purge --dir {root}",
            )
        if root.exists() and any(root.iterdir()):
            raise InvalidInput(f"{root} exists and is not empty; choose another --dir")
        network = network or Network()
        plans = sandbox_files.plan(root, nodes, base_port, netns, network, arbitrator, tls)
        if netns:
            if os.geteuid() != 0:
                raise InvalidInput("--netns needs root (network namespaces)")
            if network.exists():
                raise UnsafeOperation(
                    f"bridge {network.bridge} exists: another --netns sandbox is up",
                    hint="galeractl sandbox down on that one first",
                )
            problem = network.available()
            if problem:
                raise InvalidInput(f"network namespaces are not available here: {problem}")
        else:
            for port in (base_port + 97, base_port + 98) if proxy else ():
                if processes.port_in_use("127.0.0.1", port):
                    raise InvalidInput(
                        f"port {port} on 127.0.0.1 is in use (the proxy's)",
                        hint="stop what uses it or pass --base-port",
                    )
            for member_plan in plans:
                for port in (
                    member_plan.sql_port,
                    member_plan.galera_port,
                    member_plan.ist_port,
                    member_plan.sst_port,
                    member_plan.agent_port,
                ):
                    if processes.port_in_use("127.0.0.1", port):
                        raise InvalidInput(
                            f"port {port} on 127.0.0.1 is in use",
                            hint="stop what uses it or pass --base-port",
                        )
        if len(str(plans[-1].socket)) > 100:
            raise InvalidInput(
                f"--dir {root} is too long for a unix socket path; use a shorter one"
            )

        root.mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o700)
        state = {
            "version": 1,
            "cluster_name": cluster_name,
            "nodes": nodes,
            "netns": netns,
            "arbitrator": arbitrator,
            "base_port": base_port,
            "tls": tls,
            "agent_pids": {},
            "garbd_pid": None,
            "proxy": {"writer_port": base_port + 97, "reader_port": base_port + 98}
            if proxy
            else None,
            "proxy_pid": None,
            "created": time.time(),
        }
        if netns and network != Network():
            state["network"] = dataclasses.asdict(network)
        sandbox = cls(root, state)
        sandbox_files.write_files(sandbox)
        sandbox.save()
        return sandbox

    def prefix(self, m: MemberPlan) -> list[str]:
        return self.network.exec_prefix(m.name) if m.netns else []

    def seed(self) -> None:
        """Give every member the same initial history (see :mod:`galera.platforms.seed`)."""
        seed.seed(self)

    def seed_from(self, backup: Path, position: Position) -> None:
        """Give every member the same history from a prepared backup at ``position``."""
        seed.seed_from(self, backup, position)

    def reset_accounts(self) -> None:
        """The restored first member, running: this sandbox's accounts."""
        seed.reset_accounts(self, self.data_members[0])

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

    def launch_agent(self, name: str, mode: str = "join") -> int:
        """Start the member's agent detached; ``mode`` is the first start of mariadbd."""
        m = self.member(name)
        pid = self.state["agent_pids"].get(name)
        if m.netns and not self.network.exists():
            self.network.destroy([p.name for p in self.members])
            self.create_network()
        if processes.alive(pid):
            raise UnsafeOperation(f"agent already running (pid {pid})", member=name)
        cmd = [
            *self.prefix(m),
            sys.executable,
            "-m",
            "galera",
            "agent",
            "--config",
            str(m.home / "agent.yaml"),
            "--start",
            mode,
        ]
        pid = processes.spawn_detached(cmd, m.home / "agent.log", cwd=m.home)
        self.state["agent_pids"][name] = pid
        self.save()
        return pid

    def launch_arbitrator(self) -> int:
        m = self.member(ARBITRATOR)
        if processes.alive(self.state.get("garbd_pid")):
            raise UnsafeOperation("garbd is already running", member=ARBITRATOR)
        m.home.mkdir(parents=True, exist_ok=True)
        peers = ",".join(f"{p.address}:{p.galera_port}" for p in self.data_members)
        cmd = [
            *self.prefix(m),
            GARBD,
            "--address",
            f"gcomm://{peers}",
            "--group",
            self.state["cluster_name"],
            "--name",
            ARBITRATOR,
            "--options",
            f"gmcast.listen_addr=tcp://{m.address}:{m.galera_port}; pc.weight=1"
            + sandbox_files.garbd_tls(self, m),
            "--log",
            str(m.home / "garbd.log"),
        ]
        pid = processes.spawn_detached(cmd, m.home / "garbd.out", cwd=m.home)
        self.state["garbd_pid"] = pid
        self.save()
        return pid

    def launch_proxy(self) -> int:
        """Start HAProxy in front of the members (see :mod:`galera.platforms.proxy`)."""
        ports = self.state.get("proxy")
        if not ports:
            raise InvalidInput("this sandbox was made without --proxy")
        if processes.alive(self.state.get("proxy_pid")):
            raise UnsafeOperation("the proxy is already running")
        home = self.root / "proxy"
        home.mkdir(exist_ok=True)
        ca = self.tls_dir / certdir.CA if self.state.get("tls") else None
        text = proxy.config(
            self.data_members,
            ports["writer_port"],
            ports["reader_port"],
            ca,
            "127.0.0.1",
            Path(proxy.ADMIN_SOCKET),  # HAProxy runs in home: a path too long for a socket
        )
        (home / "haproxy.cfg").write_text(text)
        (home / proxy.ADMIN_SOCKET).unlink(missing_ok=True)  # left by an earlier run
        cmd = [HAPROXY, "-db", "-f", str(home / "haproxy.cfg")]
        pid = processes.spawn_detached(cmd, home / "haproxy.log", cwd=home)
        self.state["proxy_pid"] = pid
        self.save()

        haproxy_admin.wait_until_listening(
            home / proxy.ADMIN_SOCKET, lambda: processes.alive(pid), home / "haproxy.log"
        )
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
                tail = (
                    log.read_text(errors="replace").strip().splitlines()[-1:]
                    if log.exists()
                    else []
                )
                raise OperationFailed(
                    f"agent exited; see {log}"
                    + (f" (last line: {tail[0][-200:]})" if tail else ""),
                    member=name,
                )

    def running_agents(self) -> list[str]:
        return [m.name for m in self.members if self.agent_alive(m.name)]

    def full_ssts(self) -> int:
        """Full state transfers served so far (donor runs without ``--bypass``; IST bypasses)."""
        count = 0
        for m in self.data_members:
            log = m.home / "mariadbd.err"
            if not log.exists():
                continue
            for line in log.read_text(errors="replace").splitlines():
                if "--role 'donor'" in line and "Running:" in line and "--bypass" not in line:
                    count += 1
        return count

    def mariadbd_pid(self, name: str) -> int | None:
        pid = processes.read_pid(self.member(name).pid_file)
        return pid if processes.alive(pid) else None

    def kill(self, name: str, signame: str = "KILL") -> None:
        """Fault injection: signal the member's server; its agent holds it down."""
        signame = signame.upper().removeprefix("SIG")
        if signame not in ("KILL", "TERM", "STOP", "CONT"):
            raise InvalidInput(f"--signal must be KILL, TERM, STOP or CONT, got {signame!r}")
        m = self.member(name)
        if name == ARBITRATOR:
            pid = self.state.get("garbd_pid")
            if pid is None or not processes.alive(pid):
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
        for m in self.data_members:  # each agent was signalled once, above
            processes.terminate(agents[m.name], timeout=90, sig=None)
            stray = self.mariadbd_pid(m.name)
            if stray:
                processes.terminate(stray, timeout=60)
        if processes.alive(self.state.get("garbd_pid")):
            processes.terminate(self.state["garbd_pid"], timeout=10)
            stopped.append(ARBITRATOR)
        if processes.alive(self.state.get("proxy_pid")):
            processes.terminate(self.state["proxy_pid"], timeout=10)
            stopped.append("proxy")
        self.state["proxy_pid"] = None
        self.state["agent_pids"] = {}
        self.state["garbd_pid"] = None
        if self.state["netns"]:
            self.network.destroy([m.name for m in self.members])
        if purge:
            shutil.rmtree(self.root, ignore_errors=True)
        else:
            self.save()
        return stopped
