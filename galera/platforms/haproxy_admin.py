"""HAProxy's runtime API: a proxy told at once where writes go.

HAProxy learns which member is the writer from its health checks of the agents'
``/health/writer``: every 300 ms in the sandbox, and a server leaves the pool after two
failed checks and enters it after one passed check of a down server (every 500 ms). A
switchover that waits for the checks leaves clients without a writer for that long, and
each client retries (and fails) meanwhile. Where the cluster file names the proxies'
runtime API sockets (``proxy.admin``: ``stats socket PATH level admin`` in haproxy.cfg),
galeractl sets the writer pool itself: when it moves the writer, the old writer out, its
sessions shut, as soon as its flag is cleared, and the new one in once its agent answers
the writer check; each controller cycle, any server but the recorded writer out. Putting
a server in is left to the checks otherwise, and they stay the judge (a server put in
whose agent says 503 leaves again after two failed checks), so a proxy told nothing, or
one that cannot be reached, still gets there by itself: that is logged, never an error.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from galera import fence, poll
from galera.errors import InvalidInput, OperationFailed

BACKEND = "writers"  # the writer pool of galeractl's HAProxy configuration (proxy.py)
RUNNING = "2"  # srv_op_state of a server in the pool (``show servers state``)


@dataclass(frozen=True)
class Server:
    """One server of the writer pool, as ``show servers state`` gives it."""

    running: bool  # in the pool: its checks passed (or it was put in)
    maintenance: bool  # disabled by a person: never put in by galeractl


def ask(path: Path, commands: list[str], timeout: float = 1.0) -> str:
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
        raise OperationFailed(
            f"HAProxy runtime API {path}: {e.strerror or e}", operation="tell the proxy"
        ) from None
    return b"".join(chunks).decode(errors="replace")


def wait_until_listening(path: Path, alive: Callable[[], bool], log: Path) -> None:
    """Return once the runtime API at ``path`` answers; a clear error when HAProxy exited
    first (its ``log`` says why)."""

    def listening() -> bool | None:
        if not alive():
            raise OperationFailed(f"HAProxy exited; see {log}")
        try:
            ask(path, ["show info"])
        except OperationFailed:
            return None
        return True

    poll.until(listening, timeout=30, interval=0.05, what="HAProxy's runtime API")


def _connect(s: socket.socket, path: Path) -> None:
    """Connect to the socket at ``path``, also when the path is longer than a socket
    address may be (108 bytes): through its directory opened as a file descriptor."""
    if len(os.fsencode(path)) < 100:
        s.connect(str(path))
        return
    directory = os.open(path.parent, os.O_PATH | os.O_DIRECTORY)
    try:
        s.connect(f"/proc/self/fd/{directory}/{path.name}")
    finally:
        os.close(directory)


def pool(path: Path, backend: str = BACKEND) -> dict[str, Server]:
    """The servers of ``backend`` and their state now."""
    answer = ask(path, [f"show servers state {backend}"])
    found: dict[str, Server] = {}
    for line in answer.splitlines():
        fields = line.split()
        # be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state ...
        if len(fields) > 6 and not line.startswith("#") and fields[1] == backend:
            admin = int(fields[6]) if fields[6].isdigit() else 0
            found[fields[3]] = Server(fields[5] == RUNNING, bool(admin & 0x07))
    if not found:
        said = next((line for line in answer.splitlines() if line.strip()), "no answer")
        raise InvalidInput(f"HAProxy runtime API {path}: no backend {backend!r} ({said})")
    return found


def plan(
    servers: dict[str, Server], member: str | None, admit: bool, backend: str = BACKEND
) -> list[str]:
    """The commands that make the pool what the checks will find: every server but
    ``member`` out, its sessions shut; ``member`` in when ``admit`` (its agent answers the
    writer check) and it is neither in already nor disabled by a person."""
    commands = []
    for name, server in sorted(servers.items()):
        if server.running and name != member:
            commands += [
                f"set server {backend}/{name} health down",
                f"shutdown sessions server {backend}/{name}",
            ]
    if admit and _may_enter(servers, member):
        commands.append(f"set server {backend}/{member} health up")
    return commands


def _may_enter(servers: dict[str, Server], member: str | None) -> bool:
    """Whether ``member`` is a server of the pool, out of it, and not disabled by a person
    (only then is its agent worth asking)."""
    state = servers.get(member) if member is not None else None
    return state is not None and not state.running and not state.maintenance


def route(
    path: Path,
    member: str | None,
    members: Iterable[str],
    healthy: Callable[[str], bool] | None = None,
    backend: str = BACKEND,
) -> list[str]:
    """Tell the proxy at ``path`` that ``member`` (None: nobody) takes writes: others out
    and, given ``healthy``, ``member`` in when ``healthy(member)``. Refused, sending
    nothing, when the pool's servers are not named after ``members`` (taking out servers
    it cannot tell apart would cut the real writer off). The commands sent."""
    servers = pool(path, backend)
    strangers = sorted(set(servers) - set(members))
    if strangers:
        raise InvalidInput(
            f"HAProxy runtime API {path}: backend {backend!r} has servers "
            f"{', '.join(strangers)}, not named after the cluster's members: not told",
            hint="name each server of the writer pool after its member",
        )
    admit = (
        member is not None
        and healthy is not None
        and _may_enter(servers, member)
        and healthy(member)
    )
    commands = plan(servers, member, admit)
    if commands:
        fence.before_change()
        answer = ask(path, commands)
        said = [line.strip() for line in answer.splitlines() if line.strip()]
        if said:
            raise OperationFailed(
                f"HAProxy runtime API {path} refused {commands[0]!r}: {said[0]}",
                hint="the socket needs 'level admin' in haproxy.cfg",
            )
    return commands
