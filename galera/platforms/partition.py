"""Network cuts inside one container's network namespace (``nsenter`` from the host).

A chain of the sandbox's own in the container's INPUT and OUTPUT holds DROP rules for the
peers' addresses; healing flushes it. The rules live as long as the namespace: a restarted
container starts whole.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from galera.errors import OperationFailed

CHAIN = "GALERACTL"


def _iptables(pid: int, args: Sequence[str], check: bool = True) -> bool:
    cmd = ["nsenter", "--target", str(pid), "--net", "iptables", "-w", *args]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=30)
    if check and result.returncode != 0:
        raise OperationFailed(f"{' '.join(cmd)}: {result.stderr.strip()}")
    return result.returncode == 0


def drop(pid: int, peer: str) -> None:
    """Drop every packet from and to ``peer`` in the namespace of process ``pid``."""
    if not _iptables(pid, ["-L", CHAIN, "-n"], check=False):
        _iptables(pid, ["-N", CHAIN])
    for hook in ("INPUT", "OUTPUT"):
        if not _iptables(pid, ["-C", hook, "-j", CHAIN], check=False):
            _iptables(pid, ["-I", hook, "-j", CHAIN])
    for flag in ("-s", "-d"):
        _iptables(pid, ["-A", CHAIN, flag, peer, "-j", "DROP"])


def heal(pid: int) -> None:
    """Remove every cut in the namespace of process ``pid`` (none: nothing to do)."""
    _iptables(pid, ["-F", CHAIN], check=False)
