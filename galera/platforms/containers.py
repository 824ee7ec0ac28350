"""The container sandbox: members are containers of the node image, run as pods would be.

``galeractl sandbox up --containers`` renders the cluster's Kubernetes objects from values
(:mod:`galera.render.manifests`, the code behind ``galeractl render`` and the Helm chart) and
runs each pod of the StatefulSet as a Docker container (:mod:`galera.platforms.podrun`): the
agent is the container's main process, its configuration is the ConfigMap's ``agent.yaml``,
the Secrets are read-only directories (``root:999``, mode 0440, as the kubelet mounts them),
the data is a named volume per member (the volume claim) and the probes are Docker health
checks. The members live on a Docker network of the sandbox's own (its own /24), where each
has the pod's DNS names under the headless Service; galeractl on the host reaches them by
their addresses through the cluster file the sandbox writes.

Like a StatefulSet, a member's container restarts under a restart policy (the kubelet's),
``replace`` removes it and creates a new one on the same volume (a deleted pod), and nothing
but the agent starts ``mariadbd``: always in join mode unless a bootstrap asks through the
agent. This module provisions and operates containers; waiting for the cluster is the
controller's business (``galera.controller.containers``).
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import os
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from galera import tls
from galera.agent_client import AgentClient
from galera.config import clusterfile, token
from galera.errors import GaleraError, InvalidInput, OperationFailed, UnsafeOperation
from galera.platforms import containers_files, docker, partition
from galera.platforms.containers_files import LABEL, NAMESPACE, STOP_TIMEOUT, values
from galera.platforms.local import STATE_FILE
from galera.platforms.sandbox_files import MAX_NODES
from galera.render import manifests

KIND = "containers"
IMAGE = "galeractl/galera-node:dev"
CONTROLLER_IMAGE = "galeractl/galeractl:dev"
CONTROLLER_MOUNT = "/etc/galeractl/cluster"  # the controller's directory, in its container
SUBNETS = "10.232.0.0/16"  # a /24 of it per sandbox, the first Docker does not refuse


def is_containers(root: Path) -> bool:
    """Whether the sandbox in ``root`` is one of containers."""
    try:
        return json.loads((root / STATE_FILE).read_text()).get("kind") == KIND
    except (OSError, ValueError, AttributeError):
        return False


@dataclass(frozen=True)
class Member:
    """One member: its pod name, address, ports and Docker names."""

    name: str
    index: int
    address: str
    container: str
    volume: str
    sql_port: int = 3306
    galera_port: int = 4567
    agent_port: int = 8008
    tls: bool = True
    netns: bool = False  # (for ``sandbox ls``: containers have namespaces of their own)
    arbitrator: bool = False  # garbd, the arbitrator Deployment's pod: no volume, no agent

    @property
    def agent_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.address}:{self.agent_port}"


class ContainerSandbox:
    """One container sandbox: its directory, Docker network, volumes and containers."""

    def __init__(self, root: Path, state: dict[str, Any]) -> None:
        self.root = root
        self.state = state
        net = ipaddress.ip_network(state["network"]["subnet"])
        prefix = f"galeractl-{state['id']}-"
        self.members = [
            Member(
                f"{state['cluster_name']}-{i}",
                i,
                str(net[10 + i]),
                f"{prefix}{state['cluster_name']}-{i}",
                f"{prefix}{state['cluster_name']}-{i}-data",
                tls=state["tls"],
            )
            for i in range(state["nodes"])
        ]
        if state.get("arbitrator"):
            name = f"{state['cluster_name']}-arbitrator"  # the Deployment's name
            n = state["nodes"]
            self.members.append(
                Member(name, n, str(net[10 + n]), f"{prefix}{name}", "", arbitrator=True)
            )

    # -- files --------------------------------------------------------------------------

    @property
    def cluster_file(self) -> Path:
        return self.root / "cluster.yaml"

    @property
    def token_file(self) -> Path:
        return self.root / "agent.token"

    @property
    def controller_dir(self) -> Path:
        """The cluster file (and its credentials) a controller container mounts."""
        return self.root / "controller"

    @property
    def controller_container(self) -> str:
        return f"galeractl-{self.state['id']}-controller"

    @property
    def data_members(self) -> list[Member]:
        return [m for m in self.members if not m.arbitrator]

    @property
    def arbitrator(self) -> Member | None:
        return next((m for m in self.members if m.arbitrator), None)

    @property
    def network_name(self) -> str:
        return str(self.state["network"]["name"])

    def member(self, name: str) -> Member:
        for m in self.members:
            if m.name == name:
                return m
        raise InvalidInput(
            f"unknown member {name!r}; the sandbox in {self.root} has "
            f"{', '.join(m.name for m in self.members)}"
        )

    def spec(self) -> clusterfile.ClusterSpec:
        return clusterfile.load(self.cluster_file)

    def save(self) -> None:
        tmp = self.root / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(self.state, indent=2))
        os.replace(tmp, self.root / STATE_FILE)

    def client(self, name: str, timeout: float = 5.0) -> AgentClient:
        context = (
            tls.client_context(tls.Files(self.root / "tls" / "ca.pem"))
            if self.state["tls"]
            else None
        )
        return AgentClient(
            self.member(name).agent_url,
            token.read_file(self.token_file, "sandbox agent token"),
            member=name,
            timeout=timeout,
            tls=context,
        )

    def objects(self) -> dict[str, dict[str, Any]]:
        """The rendered ConfigMap, StatefulSet and (with an arbitrator) Deployment of the
        sandbox's values, by kind."""
        out = {}
        for obj in manifests.objects(values(self.state), "sandbox values"):
            if obj["kind"] in ("ConfigMap", "StatefulSet", "Deployment"):
                out[obj["kind"]] = obj
        return out

    # -- loading and creating -----------------------------------------------------------

    @classmethod
    def load(cls, root: Path) -> ContainerSandbox:
        try:
            state = json.loads((root / STATE_FILE).read_text())
        except (OSError, ValueError):
            raise InvalidInput(f"no readable sandbox in {root}") from None
        return cls(root, state)

    @classmethod
    def prepare(
        cls,
        root: Path,
        nodes: int,
        tls_on: bool = True,
        image: str = IMAGE,
        cluster_name: str = "galera",
        arbitrator: bool = False,
    ) -> ContainerSandbox:
        """Check everything, then make the network and lay out the directory: the cluster
        file, credentials, the ConfigMap's and Secrets' directories. A refused ``up``
        changes nothing."""
        if not 1 <= nodes <= MAX_NODES:
            raise InvalidInput(f"--nodes must be from 1 to {MAX_NODES}, got {nodes}")
        problem = docker.available()
        if problem:
            raise InvalidInput(problem)
        if not docker.image_exists(image):
            raise InvalidInput(
                f"image {image} is not here", hint="build it: scripts/build-images --local-base"
            )
        if (root / STATE_FILE).exists():
            raise UnsafeOperation(
                f"{root} already holds a sandbox",
                hint=f"galeractl sandbox down --purge --dir {root}",
            )
        if root.exists() and any(root.iterdir()):
            raise InvalidInput(f"{root} exists and is not empty; choose another --dir")
        sid = hashlib.sha256(str(root).encode()).hexdigest()[:8]
        state: dict[str, Any] = {
            "version": 1,
            "kind": KIND,
            "id": sid,
            "cluster_name": cluster_name,
            "nodes": nodes,
            "arbitrator": arbitrator,
            "netns": False,
            "tls": tls_on,
            "image": image,
            "namespace": NAMESPACE,
            "network": {"name": f"galeractl-{sid}", "subnet": ""},
            "created": time.time(),
        }
        for kind, remove in (("container", "rm -f -v"), ("volume", "volume rm")):
            # A member must never start on the data of an earlier sandbox in this directory.
            leftovers = docker.names(kind, f"{LABEL}={sid}")
            if leftovers:
                raise UnsafeOperation(
                    f"{kind}s of an earlier sandbox in {root} remain: {', '.join(leftovers)}",
                    hint=f"docker {remove} " + " ".join(leftovers),
                )
        state["network"]["subnet"] = _create_network(state["network"]["name"], sid)
        root.mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o700)
        sandbox = cls(root, state)
        try:
            containers_files.write_files(sandbox)
        except BaseException:
            docker.remove("network", state["network"]["name"])
            raise
        sandbox.save()
        return sandbox

    # -- containers ---------------------------------------------------------------------

    def run_args(self, m: Member) -> list[str]:
        """``docker run`` arguments of ``m``'s container: the StatefulSet's pod, or the
        arbitrator Deployment's."""
        return containers_files.pod_args(self, m, self.objects())

    def create(self, name: str) -> None:
        """Create ``name``'s container (and its volume, if new) and start it."""
        m = self.member(name)
        if not m.arbitrator and docker.inspect("volume", m.volume) is None:
            docker.run(["volume", "create", "--label", f"{LABEL}={self.state['id']}", m.volume])
        docker.run(["run", *self.run_args(m)])

    def agent_alive(self, name: str) -> bool:
        state = docker.container_state(self.member(name).container)
        return bool(state and state.get("Running"))

    def launch_agent(self, name: str, mode: str = "join") -> int:
        """Run ``name``'s container (its agent starts mariadbd in join mode, always: the
        pod's command); creates it when it does not exist. Returns the agent's host pid."""
        if mode != "join":
            raise InvalidInput(
                f"a container member starts only in join mode, not {mode!r}: a bootstrap goes "
                "through its agent (galeractl bootstrap)",
                member=name,
            )
        m = self.member(name)
        state = docker.container_state(m.container)
        if state is None:
            self.create(name)
        elif not state.get("Running"):
            docker.run(["start", m.container])
        else:
            raise UnsafeOperation("its container is already running", member=name)
        return int((docker.container_state(m.container) or {}).get("Pid") or 0)

    def check_agents(self, names: list[str]) -> None:
        """Raise when the container of one of ``names`` is gone or has stopped for good."""
        for name in names:
            m = self.member(name)
            state = docker.container_state(m.container)
            if state is None:
                raise OperationFailed(f"container {m.container} does not exist", member=name)
            if state.get("Status") in ("exited", "dead") and not state.get("Restarting"):
                tail = docker.run(["logs", "--tail", "1", m.container], check=False).strip()
                raise OperationFailed(
                    f"container {m.container} exited with code {state.get('ExitCode')}"
                    + (f" (last line: {tail[-200:]})" if tail else ""),
                    member=name,
                )

    def running_agents(self) -> list[str]:
        return [m.name for m in self.members if self.agent_alive(m.name)]

    def mariadbd_pid(self, name: str) -> int | None:
        """The server's pid inside its container, as its agent reports it (garbd's)."""
        if self.member(name).arbitrator:
            return int((docker.container_state(self.member(name).container) or {}).get("Pid") or 0)
        if not self.agent_alive(name):
            return None
        try:
            return (self.client(name, timeout=3).status().get("process") or {}).get("pid")
        except GaleraError:
            return None

    def read_data_file(self, name: str, relative: str) -> str:
        """A file of ``name``'s data volume (``grastate.dat``, ``mariadb.err``): read in its
        container, or in a throw-away one on the volume when the member's is not running."""
        m = self.member(name)
        path = f"/var/lib/mysql/{relative}"
        if m.arbitrator:
            raise InvalidInput("the arbitrator has no data", member=name)
        if self.agent_alive(name):
            code, out = docker.exec_in(m.container, ["cat", path])
        else:
            argv = ["run", "--rm", "--network", "none", "--volume", f"{m.volume}:/var/lib/mysql"]
            result = docker.run([*argv, self.state["image"], "cat", path], check=False)
            code, out = (0 if result else 1), result
        if code != 0:
            raise OperationFailed(f"cannot read {path}: {out.strip()[-200:]}", member=name)
        return out

    def full_ssts(self) -> int:
        """Full state transfers served so far (donor runs without ``--bypass``; IST bypasses)."""
        count = 0
        for m in self.data_members:
            with contextlib.suppress(OperationFailed):
                for line in self.read_data_file(m.name, "mariadb.err").splitlines():
                    if "--role 'donor'" in line and "Running:" in line and "--bypass" not in line:
                        count += 1
        return count

    def kill(self, name: str, signame: str = "KILL", container: bool = False) -> None:
        """Fault injection. The member's server through its agent (which holds it down until
        ``sandbox start``), or with ``container`` the whole container (``docker kill``: the
        restart policy runs it again, as the kubelet would the pod's container)."""
        signame = signame.upper().removeprefix("SIG")
        if signame not in ("KILL", "TERM", "STOP", "CONT"):
            raise InvalidInput(f"--signal must be KILL, TERM, STOP or CONT, got {signame!r}")
        m = self.member(name)
        if container:
            self._signal_container(m, signame)
            return
        if m.arbitrator:  # garbd is the container's main process
            self._signal_container(m, signame)
            return
        if not self.agent_alive(name):
            raise OperationFailed("its container is not running", member=name)
        self.client(name, timeout=10).kill(signame)

    def _signal_container(self, m: Member, signame: str) -> None:
        """KILL: the container crashes (its main process killed from the host: the restart
        policy runs it again, which ``docker kill`` would prevent); TERM: its agent stops
        gracefully and exits, and runs again; STOP and CONT: ``docker pause``/``unpause``."""
        if signame in ("STOP", "CONT"):
            docker.run(["pause" if signame == "STOP" else "unpause", m.container])
            return
        pid = int((docker.container_state(m.container) or {}).get("Pid") or 0)
        if pid <= 0:
            raise OperationFailed("its container is not running", member=m.name)
        try:
            os.kill(pid, getattr(signal, f"SIG{signame}"))
        except PermissionError:
            raise InvalidInput(
                "signalling a container's process needs root (docker kill would count as a "
                "stop by hand, which its restart policy respects)",
                member=m.name,
            ) from None

    def galeractl(
        self, args: list[str], detach: bool = False, image: str = CONTROLLER_IMAGE
    ) -> str:
        """``galeractl ARGS`` in a container of the controller image on the sandbox's network
        (uid 999, read-only root, no capabilities), with the controller's directory as its
        cluster file's. Detached: the sandbox's controller container (restarted if it
        exits); its name. Otherwise what the command printed (a failure raises)."""
        run = ["run", "--network", self.network_name, "--read-only", "--cap-drop", "ALL"]
        run += ["--security-opt", "no-new-privileges", "--tmpfs", "/tmp"]
        run += ["--volume", f"{self.controller_dir}:{CONTROLLER_MOUNT}"]
        run += ["--env", f"GALERACTL_CLUSTER={CONTROLLER_MOUNT}/cluster.yaml"]
        run += ["--label", f"{LABEL}={self.state['id']}"]
        if not detach:
            return docker.run([*run, "--rm", image, *args], timeout=600)
        name = self.controller_container
        docker.remove("container", name)
        docker.run([*run, "--detach", "--name", name, "--restart", "unless-stopped", image, *args])
        return name

    def start(self, name: str) -> None:
        """Start the member again in join mode: its container, or its server through the
        agent when the container runs."""
        if self.agent_alive(name) and not self.member(name).arbitrator:
            self.client(name, timeout=10).start("join")
        else:
            self.launch_agent(name, "join")

    def stop_container(self, name: str, timeout: int | None = None) -> None:
        """``docker stop``: SIGTERM to the agent, SIGKILL after the grace period (the pod's
        terminationGracePeriodSeconds unless ``timeout``)."""
        args = ["stop"] + (["--time", str(timeout)] if timeout is not None else [])
        docker.run([*args, self.member(name).container], timeout=STOP_TIMEOUT + 60)

    def replace(self, name: str, grace: int | None = None) -> None:
        """What Kubernetes does when a pod is deleted: stop the container (within the grace
        period), remove it with its emptyDirs, create a new one on the same data volume."""
        m = self.member(name)
        if docker.container_state(m.container) is not None:
            self.stop_container(name, grace)
            docker.remove("container", m.container)
        self.create(name)

    def partition(self, names: list[str]) -> None:
        """Cut the members in ``names`` off from every other member, both ways: packets
        between them are dropped silently (a real network cut, not a refused connection)
        in each container's own network namespace. galeractl on the host still reaches all."""
        for name in names:
            self.member(name)
        others = [m for m in self.members if m.name not in names]
        if not others:
            raise InvalidInput("a partition needs members on both sides")
        for a in (self.member(n) for n in names):
            for b in others:
                partition.drop(self._pid(a), b.address)
                partition.drop(self._pid(b), a.address)

    def heal(self) -> None:
        """Remove every partition rule."""
        for m in self.members:
            if self.agent_alive(m.name):
                partition.heal(self._pid(m))

    def _pid(self, m: Member) -> int:
        pid = int((docker.container_state(m.container) or {}).get("Pid") or 0)
        if pid <= 0:
            raise OperationFailed("its container is not running", member=m.name)
        return pid

    def down(self, purge: bool = False) -> list[str]:
        """Stop every container cleanly (in parallel: each agent stops its server), remove
        the containers and the network; with ``purge`` the volumes and the directory too."""
        running = [m for m in self.members if self.agent_alive(m.name)]
        if running:
            docker.run(["stop", *(m.container for m in running)], timeout=STOP_TIMEOUT + 60)
        for m in self.members:
            docker.remove("container", m.container)
        docker.remove("container", self.controller_container)
        docker.remove("network", self.network_name)
        if purge:
            for m in self.data_members:
                docker.remove("volume", m.volume)
            shutil.rmtree(self.root, ignore_errors=True)
        return [m.name for m in running]


def load(root: Path) -> Any:
    """The sandbox in ``root``: of containers, or of processes."""
    if is_containers(root):
        return ContainerSandbox.load(root)
    from galera.platforms.sandbox import Sandbox

    return Sandbox.load(root)


def _create_network(name: str, sid: str) -> str:
    """A bridge network on the first free /24 of :data:`SUBNETS`; its subnet."""
    if docker.inspect("network", name) is not None:
        raise UnsafeOperation(
            f"Docker network {name} exists (an earlier sandbox here?)",
            hint=f"docker network rm {name}",
        )
    for subnet in ipaddress.ip_network(SUBNETS).subnets(new_prefix=24):
        if docker.create_network(name, str(subnet), {LABEL: sid}):
            return str(subnet)
    raise OperationFailed(f"every /24 of {SUBNETS} overlaps a network here")
