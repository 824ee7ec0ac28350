"""Reaching members from outside the cluster: one ``kubectl port-forward`` per pod.

Pod IPs route only inside the cluster (or on networks like EKS's VPC CNI). From a laptop or a
CI runner, each member's SQL and agent ports are forwarded to loopback by ``kubectl
port-forward``, which speaks the API server's port-forward protocol with the user's own
kubeconfig and permissions. A forward belongs to one pod (by uid): when galeractl replaces
the pod, the next discovery opens a new forward to its successor.
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from typing import Any

from galera.errors import InvalidInput, MemberUnreachable

log = logging.getLogger("galera.kubernetes")
_FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)")
START_TIMEOUT = 20.0


@dataclass
class Forward:
    """A running ``kubectl port-forward`` of one pod: remote port -> local port."""

    pod: str
    uid: str
    process: subprocess.Popen[str]
    ports: dict[int, int] = field(default_factory=dict)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        if self.alive:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _libc() -> Any:
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return None


_LIBC = _libc()  # loaded here: the child below must not import or allocate


def _die_with_parent() -> None:
    """In the child, between fork and exec: end when galeractl ends, even by SIGKILL
    (Linux ``PR_SET_PDEATHSIG``), so that no forward outlives the command that opened it.
    The signal follows the *thread* that started the child: forwards are opened from the
    main thread or a thread that lives as long as the process (the exporter's rediscovery)."""
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGTERM)


class Forwarder:
    """The forwards of one galeractl run; every one is closed when the process exits."""

    def __init__(
        self,
        namespace: str,
        kubeconfig: str | None = None,
        context: str | None = None,
        kubectl: str | None = None,
    ) -> None:
        self.namespace = namespace
        self.kubeconfig = kubeconfig
        self.context = context
        self.kubectl = kubectl or os.environ.get("GALERACTL_KUBECTL") or "kubectl"
        if shutil.which(self.kubectl) is None:
            raise InvalidInput(f"--port-forward needs kubectl: {self.kubectl} not found")
        self._forwards: dict[str, Forward] = {}
        self._lock = threading.Lock()
        atexit.register(self.close)

    def local(self, pod: str, uid: str, remote: list[int]) -> dict[int, int]:
        """Local ports for ``remote`` ports of this pod, opening (or reopening) the forward."""
        with self._lock:
            current = self._forwards.get(pod)
            if current is not None and current.uid == uid and current.alive:
                return current.ports
            if current is not None:
                current.close()
            forward = self._open(pod, uid, remote)
            self._forwards[pod] = forward
            return forward.ports

    def _open(self, pod: str, uid: str, remote: list[int]) -> Forward:
        cmd = [
            self.kubectl,
            "port-forward",
            "--namespace",
            self.namespace,
            "--address",
            "127.0.0.1",
        ]
        if self.kubeconfig:
            cmd += ["--kubeconfig", self.kubeconfig]
        if self.context:
            cmd += ["--context", self.context]
        cmd += [f"pod/{pod}", *(f":{port}" for port in remote)]
        # stderr to a file, not a pipe: kubectl logs every failed connection there, and an
        # unread pipe that fills up would freeze the forward.
        errors = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed below, child keeps it
        process = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            preexec_fn=_die_with_parent,
        )
        forward = Forward(pod, uid, process)
        ready = threading.Event()

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                match = _FORWARDING.search(line)
                if match:
                    forward.ports[int(match.group(2))] = int(match.group(1))
                    if set(remote) <= set(forward.ports):
                        ready.set()
            ready.set()  # kubectl ended

        threading.Thread(target=read, name=f"forward-{pod}", daemon=True).start()
        if not ready.wait(START_TIMEOUT) or not set(remote) <= set(forward.ports):
            forward.close()
            errors.seek(0)
            lines = errors.read().strip().splitlines()
            error = lines[-1] if lines else ""
            raise MemberUnreachable(
                f"kubectl port-forward pod/{pod} did not start{': ' + error if error else ''}",
                member=pod,
            )
        errors.close()  # the child keeps its own descriptor
        log.info("forwarding pod %s: %s", pod, forward.ports)
        return forward

    def close(self) -> None:
        with self._lock:
            for forward in self._forwards.values():
                forward.close()
            self._forwards.clear()
