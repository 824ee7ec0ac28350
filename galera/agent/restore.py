"""Receiving a prepared backup into this member's empty data directory (``POST
/v1/restore``, ``galeractl restore DIR --new-cluster``).

The backup's files arrive as a tar stream (the request's chunked body) and are written into
the data directory, made durable, then ``grastate.dat`` at the backup's position (never
safe to bootstrap: forming the cluster takes the controller's one-shot mark, as after any
outage). Only into the data directory of a stopped server that holds nothing but what a
join attempt that found no cluster leaves (:data:`LEFT_BY_A_JOIN`), what an interrupted
restore left, or exactly the same restore (the stamp :data:`STAMP` names the backup, and
``grastate.dat`` is still at its position: the member never ran since or wrote nothing).

A marker in the data directory says a restore is under way: while it is there,
``grastate.dat`` reads as unusable, so nothing starts, recovers or bootstraps on half a
backup.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import shutil
import tarfile
import threading
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import IO, Any

from galera.agent.datadir import RESTORE_MARKER, DataDir, sync_directory
from galera.domain import grastate
from galera.domain.grastate import JOIN_UNFINISHED, SAVED_VIEW
from galera.domain.position import Position
from galera.errors import GaleraError, InvalidInput, OperationFailed, UnsafeOperation

log = logging.getLogger("galera.agent")

CHUNK = 1024 * 1024
STAMP = "galeractl-restored.json"
# What a data directory may hold and still count as empty: a failed first join's Galera
# state, socket and pid files, logs, a file system's lost+found.
LEFT_BY_A_JOIN = (
    "grastate.dat",
    "galera.cache",
    SAVED_VIEW,
    JOIN_UNFINISHED,
    "wsrep_sst.pid",
    "sst_in_progress",
    ".sst",
    "lost+found",
    "*.pid",
    "*.sock",
    "*.err",
    "*.log",
    RESTORE_MARKER,
)


class Restores:
    """This member's restores: one at a time, only into an empty data directory."""

    def __init__(
        self,
        data: DataDir,
        while_stopped: Callable[[str, Callable[[], Any]], Any],
        keep: frozenset[Path],
    ) -> None:
        self.data = data
        self.while_stopped = while_stopped  # the supervisor's: refused while mariadbd runs
        self.keep = keep  # the agent's own files, should they be in the data directory
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    def stamp(self) -> dict[str, Any] | None:
        """The restore this data directory holds untouched (None: none, or it ran since
        and its position moved)."""
        try:
            stamp = json.loads((self.data.datadir / STAMP).read_text())
            state = self.data.grastate()
        except (OSError, ValueError, GaleraError):
            return None
        if not isinstance(stamp, dict) or state is None or state.needs_recovery:
            return None
        return stamp if str(state.position) == stamp.get("position") else None

    def refusal(self, backup: str) -> str | None:
        """Why this data directory may not receive ``backup`` (None: it may)."""
        datadir = self.data.datadir
        if not datadir.exists() or (datadir / RESTORE_MARKER).exists():
            return None
        same = self.stamp()
        if same is not None and same.get("backup") == backup:
            return None
        other = sorted(
            p.name
            for p in datadir.iterdir()
            if not any(fnmatch.fnmatch(p.name, pattern) for pattern in LEFT_BY_A_JOIN)
        )
        if other or not self.data.pristine():
            held = ", ".join(other[:3]) or "grastate.dat with a history"
            return f"the data directory holds data ({held}): a restore never overwrites"
        return None

    def receive(
        self, position: Position, backup: str, stream: IO[bytes], check: bool = False
    ) -> dict[str, Any]:
        """Write the tar ``stream`` into the data directory at ``position`` (``check``:
        only say whether it would); what was written."""
        if not self._lock.acquire(blocking=False):
            raise UnsafeOperation("a restore into this member is already running")
        try:
            return self._receive(position, backup, stream, check)
        finally:
            self._lock.release()

    def _receive(
        self, position: Position, backup: str, stream: IO[bytes], check: bool
    ) -> dict[str, Any]:
        datadir = self.data.datadir
        marker = datadir / RESTORE_MARKER

        def claim() -> None:  # under the supervisor's lock: no start slips in
            refusal = self.refusal(backup)
            if refusal is not None:
                raise UnsafeOperation(f"{refusal}; nothing was changed")
            if check:
                return
            datadir.mkdir(parents=True, exist_ok=True)
            marker.write_text(json.dumps({"position": str(position), "at": time.time()}))

        self.while_stopped("a restore needs it stopped", claim)
        if check:
            return {"position": str(position), "accepted": True}
        started = time.monotonic()
        self.data.empty(self.keep | {marker})
        files, size = extract(stream, datadir)
        (datadir / STAMP).write_text(json.dumps({"position": str(position), "backup": backup}))
        sync_directory(datadir)
        self.data.write_grastate(
            grastate.Grastate("2.1", position.uuid, position.seqno, False), sync=True
        )
        marker.unlink()
        sync_directory(datadir)
        seconds = round(time.monotonic() - started, 2)
        log.warning("restored %d files (%d bytes) at %s in %ss", files, size, position, seconds)
        return {"position": str(position), "files": files, "bytes": size, "seconds": seconds}


def extract(stream: IO[bytes], target: Path) -> tuple[int, int]:
    """Regular files and directories of a tar stream under ``target``, each made durable;
    anything else (links, devices, absolute names, ``..``) is refused. (files, bytes)."""
    files = size = 0
    try:
        with tarfile.open(fileobj=stream, mode="r|") as archive:
            for entry in archive:
                dest = _destination(entry, target)
                if entry.isdir():
                    dest.mkdir(parents=True, exist_ok=True)
                    continue
                dest.parent.mkdir(parents=True, exist_ok=True)
                source = archive.extractfile(entry)
                assert source is not None
                with open(dest, "wb") as out:
                    shutil.copyfileobj(source, out, CHUNK)
                    out.flush()
                    os.fsync(out.fileno())
                files += 1
                size += entry.size
    except (tarfile.TarError, EOFError) as e:
        raise OperationFailed(f"restore stream broken off or corrupt: {e}") from None
    except OSError as e:
        raise OperationFailed(f"restore: writing into {target} failed: {e}") from None
    for directory in {p for p in target.rglob("*") if p.is_dir()} | {target}:
        sync_directory(directory)
    return files, size


def _destination(entry: tarfile.TarInfo, target: Path) -> Path:
    path = PurePosixPath(entry.name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise InvalidInput(f"restore stream: unsafe name {entry.name!r}")
    if not (entry.isdir() or entry.isfile()):
        raise InvalidInput(f"restore stream: {entry.name!r} is not a regular file")
    return target.joinpath(*path.parts)
