"""``galeractl restore DIR --new-cluster``: a new cluster from one backup, on any platform,
through the members' agents.

Every data member must be stopped (a member whose server runs is refused, unless it holds
nothing: a fresh pod's join attempt, which is stopped) and hold no data: a restore never
overwrites anything. The backup is verified first (every file's sha256, then the position a
throwaway server recovers; prepared; the same MariaDB release series). Then each member
receives the backup's files through its agent (``POST /v1/restore``, a tar stream) with
``grastate.dat`` written at the backup's position, so that the cluster is exactly what a
full outage leaves when every member is at that position: ``galeractl bootstrap`` forms it
there (the one-shot mark on one member) and the others join by IST, never by a full SST.
"""

from __future__ import annotations

import hashlib
import tarfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from galera.agent_client import AgentClient
from galera.controller import backup, bootstrap, members, records
from galera.domain import backup as backups
from galera.domain import events
from galera.domain.events import Kind
from galera.domain.position import Position
from galera.errors import GaleraError, InvalidInput, UnsafeOperation
from galera.platforms.base import Emit, Platform

SKIP = frozenset(backups.NOT_RESTORED)
CHUNK = 1024 * 1024


def run(
    platform: Platform,
    directory: Path,
    confirm: Callable[[Position, list[str]], bool],
    emit: Emit,
    timeout: float = 600.0,
) -> events.Event:
    """Restore ``directory`` as a new cluster; the bootstrap's summary."""
    position = backup.restorable(directory)
    digest = hashlib.sha256((directory / backup.MANIFEST).read_bytes()).hexdigest()[:16]
    spec = platform.spec()
    clients = members.agents(spec)
    names = [m.name for m in spec.members if not m.arbitrator]
    running = _check_empty(clients, names, digest)
    if not confirm(position, names):
        raise UnsafeOperation("not confirmed; nothing was changed (pass --yes to confirm)")
    for name in running:  # a fresh member's join attempt (or its restarts): it holds nothing
        clients[name].stop()
        emit(events.of(Kind.STOPPED, member=name, reason="a join attempt that held nothing"))
    for name in names:  # every agent would take it (token, lease, emptiness): else none
        clients[name].restore(str(position), digest, check=True)
    records.append(platform, "restore", position=str(position), backup=str(directory))

    def send(name: str) -> dict[str, Any]:
        return clients[name].restore(str(position), digest, _tar_chunks(directory))

    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        for name, answer in zip(names, pool.map(send, names), strict=True):
            emit(events.of(Kind.RESTORED, member=name, **answer["restored"]))
    options = bootstrap.Options(timeout=timeout)
    return bootstrap.run(platform, options, lambda _plan: True, emit)


def _check_empty(clients: dict[str, AgentClient], names: list[str], digest: str) -> list[str]:
    """Refuse, changing nothing, unless every member's data directory may receive the
    backup ``digest`` names (empty, or what an interrupted restore or this one left: the
    agent says); the members whose server runs or is to run again (a join attempt that
    holds nothing)."""
    running = []
    for name in names:
        try:
            status = clients[name].status()
        except GaleraError as e:
            raise UnsafeOperation(f"restore refused: {e}; nothing was changed") from None
        state = status.get("grastate") or {}
        process = status.get("process") or {}
        wsrep = status.get("wsrep") or {}
        if state.get("error") and not state.get("restore_interrupted"):
            raise UnsafeOperation(f"restore refused: {name}: {state['error']}; nothing was changed")
        same = (state.get("restored") or {}).get("backup") == digest
        if not (same or state.get("restorable", state.get("restore_interrupted", False))):
            raise UnsafeOperation(
                f"restore refused: {name} holds data (a restore never overwrites; empty it "
                "first or restore elsewhere); nothing was changed"
            )
        if str(wsrep.get("cluster_status", "")).lower() == "primary":
            raise UnsafeOperation(
                f"restore refused: {name} runs in a Primary component; nothing was changed"
            )
        if process.get("desired") == "running" or process.get("state") != "stopped":
            running.append(name)
    return running


def _tar_chunks(directory: Path) -> Iterator[bytes]:
    """The backup's files (not its manifest, nor Galera's state files) as a tar stream, read
    a chunk at a time: memory stays bounded whatever the files' sizes."""
    try:
        yield from _tar_entries(directory)
    except OSError as e:
        raise InvalidInput(f"{directory}: reading it failed: {e}") from None
    yield tarfile.NUL * (2 * tarfile.BLOCKSIZE)


def _tar_entries(directory: Path) -> Iterator[bytes]:
    for path in sorted(directory.rglob("*")):
        name = path.relative_to(directory).as_posix()
        if name in SKIP:
            continue
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            raise InvalidInput(f"{directory}: {name} is not a regular file or directory")
        info = tarfile.TarInfo(name)
        info.mtime = int(path.stat().st_mtime)
        if path.is_dir():
            info.type, info.mode = tarfile.DIRTYPE, 0o750
            yield info.tobuf(format=tarfile.PAX_FORMAT)
            continue
        info.size, info.mode = path.stat().st_size, 0o640
        yield info.tobuf(format=tarfile.PAX_FORMAT)
        sent = 0
        with open(path, "rb") as f:
            while block := f.read(min(CHUNK, info.size - sent)):
                sent += len(block)
                yield block
        if sent != info.size:
            raise InvalidInput(f"{directory}: {name} changed while it was sent")
        if info.size % tarfile.BLOCKSIZE:
            yield tarfile.NUL * (tarfile.BLOCKSIZE - info.size % tarfile.BLOCKSIZE)
