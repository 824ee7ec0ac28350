"""Receiving a prepared backup into this member's empty data directory (``POST
/v1/restore``, ``galeractl restore DIR --new-cluster``).

The backup's files arrive as a tar stream (the request's chunked body) and are written into
the data directory, then ``grastate.dat`` at the backup's position (never safe to bootstrap:
forming the cluster takes the controller's one-shot mark, as after any outage). Only into an
empty data directory of a stopped server. A marker in the data directory says a restore is
under way: while it is there, ``grastate.dat`` reads as unusable, so nothing starts, recovers
or bootstraps on half a backup; a restore that was interrupted is started again from an
empty directory (or ``galeractl reinit`` empties it).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tarfile
import threading
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import IO

from galera.agent.datadir import RESTORE_MARKER, DataDir
from galera.domain import grastate
from galera.domain.position import Position
from galera.errors import InvalidInput, OperationFailed, UnsafeOperation

log = logging.getLogger("galera.agent")

CHUNK = 1024 * 1024


class Restores:
    """This member's restores: one at a time, only into an empty data directory."""

    def __init__(self, data: DataDir, running: Callable[[], bool], keep: frozenset[Path]) -> None:
        self.data = data
        self.running = running
        self.keep = keep  # what emptying leaves (the error log when it is in the datadir)
        self._lock = threading.Lock()

    def receive(self, position: Position, stream: IO[bytes]) -> dict[str, object]:
        """Write the tar ``stream`` into the data directory at ``position``; what was written."""
        if not self._lock.acquire(blocking=False):
            raise UnsafeOperation("a restore into this member is already running")
        try:
            return self._receive(position, stream)
        finally:
            self._lock.release()

    def _receive(self, position: Position, stream: IO[bytes]) -> dict[str, object]:
        datadir = self.data.datadir
        marker = datadir / RESTORE_MARKER
        interrupted = marker.exists()
        if not interrupted and not self.data.pristine():
            raise UnsafeOperation(
                "the data directory holds data: a restore goes only into an empty one; "
                "nothing was changed"
            )
        datadir.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps({"position": str(position), "at": time.time()}))
        if self.running():
            marker.unlink()
            raise UnsafeOperation("mariadbd is running: a restore needs it stopped")
        if interrupted:
            log.warning("emptying what an interrupted restore left")
        self.data.empty(self.keep | {marker})
        started = time.monotonic()
        files, size = extract(stream, datadir)
        state = grastate.Grastate("2.1", position.uuid, position.seqno, False)
        tmp = self.data.grastate_path.with_suffix(".tmp")
        tmp.write_text(state.render())
        os.replace(tmp, self.data.grastate_path)
        marker.unlink()
        seconds = round(time.monotonic() - started, 2)
        log.warning("restored %d files (%d bytes) at %s in %ss", files, size, position, seconds)
        return {"position": str(position), "files": files, "bytes": size, "seconds": seconds}


def extract(stream: IO[bytes], target: Path) -> tuple[int, int]:
    """Regular files and directories of a tar stream under ``target``; anything else (links,
    devices, absolute names, ``..``) is refused. (files, bytes) written."""
    files = size = 0
    try:
        with tarfile.open(fileobj=stream, mode="r|") as archive:
            for entry in archive:
                path = PurePosixPath(entry.name)
                if path.is_absolute() or ".." in path.parts or not path.parts:
                    raise InvalidInput(f"restore stream: unsafe name {entry.name!r}")
                dest = target.joinpath(*path.parts)
                if entry.isdir():
                    dest.mkdir(parents=True, exist_ok=True)
                    continue
                if not entry.isfile():
                    raise InvalidInput(f"restore stream: {entry.name!r} is not a regular file")
                dest.parent.mkdir(parents=True, exist_ok=True)
                source = archive.extractfile(entry)
                assert source is not None
                with open(dest, "wb") as out:
                    shutil.copyfileobj(source, out, CHUNK)
                files += 1
                size += entry.size
    except (tarfile.TarError, EOFError) as e:
        raise OperationFailed(f"restore stream broken off or corrupt: {e}") from None
    return files, size
