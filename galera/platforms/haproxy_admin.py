"""HAProxy's runtime API: a proxy told at once where writes go.

HAProxy learns which member is the writer from its health checks of the agents'
``/health/writer``: every 300 ms in the sandbox, and a server leaves the pool after two
failed checks and enters it after one passed check of a down server (every 500 ms). A
switchover that waits for the checks leaves clients without a writer for that long, and
each client retries (and fails) meanwhile. Where the cluster file names the proxies'
runtime API sockets (``proxy.admin``: ``stats socket PATH level admin`` in haproxy.cfg),
galeractl sets the writer pool itself the moment it moves the writer: the old writer down,
its sessions shut, as soon as its flag is cleared; the new one up once its agent answers
the writer check. The checks go on and stay the judge (a server forced up whose agent says
503 leaves again after its next failed checks), so a proxy told nothing, or one that cannot
be reached, still gets there by itself: that is logged, never an error.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

from galera import fence
from galera.errors import MemberUnreachable

BACKEND = "writers"  # the writer pool of galeractl's HAProxy configuration (proxy.py)
RUNNING = "2"  # srv_op_state of a server in the pool (``show servers state``)


def ask(path: Path, commands: list[str], timeout: float = 2.0) -> str:
    """Send ``commands`` (one connection, ``;``-separated) to the runtime API at ``path``;
    its answer."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            _connect(s, path)
            s.sendall(("; ".join(commands) + "\n").encode())
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
    except OSError as e:
        raise MemberUnreachable(f"HAProxy runtime API {path}: {e.strerror or e}") from None
    return b"".join(chunks).decode(errors="replace")


def _connect(s: socket.socket, path: Path) -> None:
    """Connect to the socket at ``path``, also when the path is longer than a socket
    address may be (108 bytes): through its directory opened as a file descriptor."""
    if len(os.fsencode(path)) < 100:
        s.connect(str(path))
        return
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        s.connect(f"/proc/self/fd/{directory}/{path.name}")
    finally:
        os.close(directory)


def pool(path: Path, backend: str = BACKEND) -> dict[str, bool]:
    """The servers of ``backend`` and whether each is in the pool (up) now."""
    answer = ask(path, [f"show servers state {backend}"])
    found: dict[str, bool] = {}
    for line in answer.splitlines():
        fields = line.split()
        # be_id be_name srv_id srv_name srv_addr srv_op_state ...
        if len(fields) > 5 and not line.startswith("#") and fields[1] == backend:
            found[fields[3]] = fields[5] == RUNNING
    if not found:
        raise MemberUnreachable(f"HAProxy runtime API {path}: no backend {backend!r}")
    return found


def route(
    path: Path, member: str | None, healthy: Callable[[str], bool], backend: str = BACKEND
) -> list[str]:
    """Make the proxy's writer pool what its checks will find: every server but ``member``
    out, sessions shut; ``member`` in when ``healthy(member)`` (its agent answers the writer
    check). Only differences are sent. The commands sent (none when it already was so)."""
    servers = pool(path, backend)
    commands = []
    for name, up in sorted(servers.items()):
        if up and name != member:
            commands += [
                f"set server {backend}/{name} health down",
                f"shutdown sessions server {backend}/{name}",
            ]
    if member in servers and not servers[member] and healthy(member):
        commands.append(f"set server {backend}/{member} health up")
    if commands:
        fence.before_change()
        ask(path, commands)
    return commands
