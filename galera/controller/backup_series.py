"""``galeractl backup --into DIR --keep N``: a series of backups in one directory (a
scheduled backup's volume), each in ``backup-<UTC time>``, only the newest N kept.

One run at a time per directory (an exclusive lock on ``DIR/.galeractl-backup.lock``), so
that a directory without a manifest is surely what a run that did not finish left: it is
removed. Only directories named like this module's backups are ever removed; anything else
in DIR is left alone.
"""

from __future__ import annotations

import fcntl
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from galera.controller import backup
from galera.errors import InvalidInput, OperationFailed, UnsafeOperation
from galera.platforms.base import Emit, Platform

LOCK = ".galeractl-backup.lock"
NAME = re.compile(r"^backup-\d{8}T\d{6}Z$")


def take(
    platform: Platform, member: str | None, parent: Path, keep: int, prepare: bool, emit: Emit
) -> tuple[dict[str, Any], Path, list[str]]:
    """A new backup in ``parent``; the manifest, its directory, and the backups removed."""
    if keep < 1:
        raise InvalidInput(f"--keep {keep}: must be at least 1")
    if parent.exists() and not parent.is_dir():
        raise InvalidInput(f"--into {parent}: not a directory; nothing was written")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        with _locked(parent):
            return _take(platform, member, parent, keep, prepare, emit)
    except OSError as e:
        raise OperationFailed(f"--into {parent}: {e}") from None


def _take(
    platform: Platform, member: str | None, parent: Path, keep: int, prepare: bool, emit: Emit
) -> tuple[dict[str, Any], Path, list[str]]:
    """One run, under the directory's lock."""
    leftovers = [p for p in _ours(parent) if not (p / backup.MANIFEST).is_file()]
    for path in leftovers:
        shutil.rmtree(path)
    target = parent / time.strftime("backup-%Y%m%dT%H%M%SZ", time.gmtime())
    if target.exists():  # two runs within a second
        raise UnsafeOperation(f"{target} exists already; nothing was written")
    try:
        manifest = backup.take(platform, member, target, prepare, emit)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)  # never mistaken for a backup
        raise
    complete = [p for p in _ours(parent) if (p / backup.MANIFEST).is_file()]
    removed = [p for p in complete[:-keep] if p != target]  # (a clock that stepped back)
    for path in removed:
        shutil.rmtree(path)
    return manifest, target, [p.name for p in leftovers + removed]


def _ours(parent: Path) -> list[Path]:
    """The series' backup directories, oldest first (their names sort by time)."""
    return sorted(p for p in parent.iterdir() if p.is_dir() and NAME.match(p.name))


@contextmanager
def _locked(parent: Path) -> Iterator[None]:
    with open(parent / LOCK, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UnsafeOperation(
                f"another backup into {parent} is running; nothing was written"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
