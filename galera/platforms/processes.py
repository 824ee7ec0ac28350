"""Small process and port helpers shared by the sandbox platform."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
from collections.abc import Sequence
from pathlib import Path

from galera import poll
from galera.proc import alive

__all__ = ["alive", "port_in_use", "read_pid", "spawn_detached", "terminate"]


def spawn_detached(cmd: Sequence[str], log_file: Path, cwd: Path | None = None) -> int:
    """Start ``cmd`` in its own session, output appended to ``log_file``; returns its pid.

    The process outlives the command that started it (the sandbox's agents and garbd).
    """
    with open(log_file, "ab") as out:
        proc = subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=cwd,
        )
    return proc.pid


def terminate(pid: int | None, timeout: float = 60.0, sig: int | None = signal.SIGTERM) -> bool:
    """Send ``sig`` (once; None when the caller already signalled it) and wait up to
    ``timeout`` for the process to go; SIGKILL after that.

    Returns True when the process had to be killed.
    """
    if not alive(pid):
        return False
    assert pid is not None
    if sig is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)

    def gone() -> bool | None:
        _reap(pid)
        return True if not alive(pid) else None

    if poll.quietly(gone, timeout=timeout, interval=0.1):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    poll.quietly(gone, timeout=5.0, interval=0.1)
    return True


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def port_in_use(host: str, port: int) -> bool:
    """True when something already listens on (or holds) ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # Servers bind with SO_REUSEADDR: connections in TIME_WAIT do not block them.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            return e.errno in (errno.EADDRINUSE, errno.EACCES)
    return False


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None
