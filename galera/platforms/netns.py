"""Network namespaces for the sandbox: one per member on a bridge, and partitions.

Each member gets its own namespace, a veth pair into the bridge and its own address, so
Galera sees separate hosts. A partition is a set of iptables DROP rules in a dedicated chain
inside the namespaces (traffic silently vanishes, as in a real network cut); healing flushes
the chain. The host keeps reaching every member through the bridge, so ``status`` still works.
"""

from __future__ import annotations

import ipaddress
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from galera.errors import InvalidInput, OperationFailed

CHAIN = "GALERACTL"


def _run(cmd: Sequence[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(cmd), capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise OperationFailed(f"{' '.join(cmd)} failed: {result.stderr.strip()}")
    return result


@dataclass(frozen=True)
class Network:
    """The sandbox network: a bridge in the host namespace and a /24 for the members."""

    bridge: str = "gctl0"
    prefix: str = "gctl-"
    subnet: str = "10.231.0.0/24"

    @classmethod
    def numbered(cls, number: int) -> Network:
        """Sandbox network ``number`` (0-99): 0 is the default one; each other number has a
        bridge, namespace names and a subnet of its own, so that several ``--netns``
        sandboxes can be up side by side (say a test suite's and a benchmark's)."""
        if not 0 <= number <= 99:
            raise InvalidInput(f"--netns-number must be from 0 to 99, got {number}")
        if number == 0:
            return cls()
        return cls(f"gctl{number}", f"gctl{number}-", f"10.231.{number}.0/24")

    @property
    def gateway(self) -> str:
        return str(ipaddress.ip_network(self.subnet)[1])

    def address(self, index: int) -> str:
        """Address of member ``index`` (0-based); .10 upwards."""
        return str(ipaddress.ip_network(self.subnet)[10 + index])

    def namespace(self, member: str) -> str:
        return f"{self.prefix}{member}"

    def exec_prefix(self, member: str) -> list[str]:
        return ["ip", "netns", "exec", self.namespace(member)]

    def exists(self) -> bool:
        return _run(["ip", "link", "show", self.bridge], check=False).returncode == 0

    def available(self) -> str | None:
        """None when namespaces can be made here; otherwise why not."""
        probe = f"{self.prefix}probe"
        result = _run(["ip", "netns", "add", probe], check=False)
        if result.returncode != 0:
            return result.stderr.strip() or "ip netns add failed"
        _run(["ip", "netns", "del", probe], check=False)
        return None

    def create(self, members: Sequence[str]) -> None:
        """Create the bridge and one namespace per member (idempotent per member)."""
        net = ipaddress.ip_network(self.subnet)
        if not self.exists():
            _run(["ip", "link", "add", self.bridge, "type", "bridge"])
            _run(["ip", "addr", "add", f"{self.gateway}/{net.prefixlen}", "dev", self.bridge])
            _run(["ip", "link", "set", self.bridge, "up"])
        self._accept_forwarding()
        for index, member in enumerate(members):
            self.attach(member, index)

    def attach(self, name: str, index: int) -> str:
        """Give ``name`` a namespace on the bridge with the address of ``index``, removing
        what an earlier run left of it; the address. Members are 0, 1, …; another process
        that needs an address of its own (a controller cut off in a test) takes a high
        index."""
        ns, host_end, inner = self.namespace(name), self._host_end(index), "eth0"
        prefixlen = ipaddress.ip_network(self.subnet).prefixlen
        self.detach(name, index)  # a namespace is freed lazily by the kernel
        _run(["ip", "netns", "add", ns])
        _run(["ip", "link", "add", host_end, "type", "veth", "peer", "name", inner, "netns", ns])
        _run(["ip", "link", "set", host_end, "master", self.bridge])
        _run(["ip", "link", "set", host_end, "up"])
        _run(["ip", "-n", ns, "addr", "add", f"{self.address(index)}/{prefixlen}", "dev", inner])
        _run(["ip", "-n", ns, "link", "set", inner, "up"])
        _run(["ip", "-n", ns, "link", "set", "lo", "up"])
        _run(["ip", "netns", "exec", ns, "iptables", "-w", "-N", CHAIN])
        _run(["ip", "netns", "exec", ns, "iptables", "-w", "-I", "INPUT", "-j", CHAIN])
        _run(["ip", "netns", "exec", ns, "iptables", "-w", "-I", "OUTPUT", "-j", CHAIN])
        return self.address(index)

    def detach(self, name: str, index: int) -> None:
        """Remove the namespace and veth pair :meth:`attach` made (missing ones ignored)."""
        _run(["ip", "link", "del", self._host_end(index)], check=False)
        _run(["ip", "netns", "del", self.namespace(name)], check=False)

    def _forward_rule(self) -> list[str]:
        return ["FORWARD", "-i", self.bridge, "-o", self.bridge, "-j", "ACCEPT"]

    def _accept_forwarding(self) -> None:
        """Let the members reach each other whatever the host's FORWARD policy: Docker sets
        it to DROP, and with bridge netfilter on, traffic across our bridge passes FORWARD."""
        if _run(["iptables", "-w", "-C", *self._forward_rule()], check=False).returncode != 0:
            _run(["iptables", "-w", "-I", *self._forward_rule()])

    def _host_end(self, index: int) -> str:
        return f"gv{index}{self.bridge[-2:]}"

    def destroy(self, members: Iterable[str]) -> None:
        """Remove the veth pairs, namespaces and bridge; missing pieces are ignored.

        Deleting a veth end removes the pair at once, whereas a deleted namespace (and the
        veth inside it) may linger in the kernel for a while.
        """
        for index, member in enumerate(members):
            self.detach(member, index)
        _run(["ip", "link", "del", self.bridge], check=False)
        while _run(["iptables", "-w", "-D", *self._forward_rule()], check=False).returncode == 0:
            pass  # every copy (a crashed run may have left one)

    def partition(self, side: Sequence[str], addresses: dict[str, str]) -> None:
        """Cut the members in ``side`` off from every other member (both directions)."""
        unknown = [m for m in side if m not in addresses]
        if unknown:
            raise InvalidInput(
                f"unknown member {unknown[0]!r}; the sandbox has {', '.join(addresses)}"
            )
        others = [m for m in addresses if m not in side]
        if not others:
            raise InvalidInput("a partition needs members on both sides")
        for a in side:
            for b in others:
                self._drop(a, addresses[b])
                self._drop(b, addresses[a])

    def _drop(self, member: str, peer_address: str) -> None:
        prefix = self.exec_prefix(member)
        for flag in ("-s", "-d"):
            _run([*prefix, "iptables", "-w", "-A", CHAIN, flag, peer_address, "-j", "DROP"])

    def heal(self, members: Iterable[str]) -> None:
        """Remove every partition rule."""
        for member in members:
            _run([*self.exec_prefix(member), "iptables", "-w", "-F", CHAIN], check=False)

    def partitioned(self, member: str) -> list[str]:
        """Peer addresses that ``member`` currently drops."""
        out = _run([*self.exec_prefix(member), "iptables", "-w", "-S", CHAIN], check=False).stdout
        peers = []
        for line in out.splitlines():
            parts = line.split()
            if "-s" in parts:
                peers.append(parts[parts.index("-s") + 1].split("/")[0])
        return peers
