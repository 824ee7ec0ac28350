"""``galeractl backup`` and ``galeractl backup verify``: physical backups that carry the
Galera position.

The backup streams from the chosen member's agent (``mariabackup --galera-info``, the
member desynchronised meanwhile and always resynchronised by its agent) into
``mbstream -x`` here, is prepared (``mariabackup --prepare``) unless asked not to, and gets
a manifest (``galeractl-backup.json``): the cluster's name, the state UUID and seqno the
backup holds (from ``xtrabackup_galera_info``), the member, the server version, and the
size and sha256 of every file. A directory without a manifest is not a backup: the
manifest is written last.

``verify`` checks every file against the manifest, then starts the backup in a throwaway
server (``mariadbd --wsrep-recover`` on a copy) that must report the manifest's position.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from galera.agent_client import AgentClient
from galera.controller import members, observe, writer
from galera.domain import backup, events
from galera.domain.events import Kind
from galera.domain.position import Position
from galera.errors import GaleraError, InvalidInput, OperationFailed, UnsafeOperation
from galera.platforms.base import Emit, Platform

MANIFEST = backup.MANIFEST
MBSTREAM = "/usr/bin/mbstream"
MARIABACKUP = "/usr/bin/mariabackup"
MARIADBD = "/usr/sbin/mariadbd"
GALERA_INFO = "xtrabackup_galera_info"


def take(
    platform: Platform, member: str | None, target: Path, prepare: bool, emit: Emit
) -> dict[str, Any]:
    """Back the cluster up into ``target`` (absent or empty); the manifest."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidInput(f"--to {target}: not an empty directory; nothing was written")
    spec = platform.spec()
    if member is not None:
        spec.member(member)  # an unknown name is bad input
    snapshot = observe.through_agents(spec)  # the agents' token is all a backup needs
    donor = backup.choose(snapshot, writer.current(platform), member)
    if isinstance(donor, str):
        raise UnsafeOperation(f"backup refused: {donor}; nothing was changed")
    emit(events.of(Kind.BACKUP_STARTED, member=donor.member, reason=donor.reason))
    client = members.agents(spec)[donor.member]
    target.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    received = _receive(client, target)
    seconds = time.monotonic() - started
    if prepare:
        _run([MARIABACKUP, "--prepare", f"--target-dir={target}"], "mariabackup --prepare")
    status = snapshot.get(donor.member).status
    manifest = {
        "cluster": spec.name,
        "position": str(galera_position(target)),
        "member": donor.member,
        "server_version": status.server_version if status is not None else "",
        "prepared": prepare,
        "taken_at": round(time.time(), 3),
        "by": platform.identity,
        "stream_bytes": received,
        "files": checksums(target),
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    emit(
        events.of(
            Kind.BACKUP_TAKEN,
            member=donor.member,
            position=manifest["position"],
            bytes=received,
            seconds=round(seconds, 2),
            mib_per_second=round(received / 1048576 / max(seconds, 1e-6), 1),
        )
    )
    return manifest


def _receive(client: AgentClient, target: Path) -> int:
    """The member's backup stream unpacked into ``target``; the bytes received."""
    extract = subprocess.Popen(
        [MBSTREAM, "-x", "-C", str(target)], stdin=subprocess.PIPE, stderr=subprocess.PIPE
    )
    pipe = extract.stdin
    assert pipe is not None
    received = 0

    def sink(chunk: bytes) -> None:
        nonlocal received
        pipe.write(chunk)
        received += len(chunk)

    try:
        client.backup(sink)
    except BaseException:
        extract.kill()
        extract.wait()
        raise
    _finished(extract, "mbstream -x")  # closes its input: the end of the stream
    return received


def _finished(child: subprocess.Popen[bytes], what: str) -> None:
    _out, err = child.communicate()
    if child.returncode != 0:
        tail = err.decode(errors="replace").strip().splitlines()[-1:] if err else []
        raise OperationFailed(f"{what} failed (exit {child.returncode}): {' '.join(tail)}")


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = result.stderr.strip().splitlines()[-2:]
        raise OperationFailed(f"{what} failed (exit {result.returncode}): {' / '.join(tail)}")


def galera_position(directory: Path) -> Position:
    """The position ``mariabackup --galera-info`` recorded (``uuid:seqno``, then the GTID
    domain after a space in MariaDB 10.11)."""
    path = directory / GALERA_INFO
    try:
        text = path.read_text().strip()
    except OSError as e:
        raise InvalidInput(f"{path}: {e.strerror}: not a Galera backup") from None
    fields = text.split(":")
    try:
        return Position.parse(f"{fields[0]}:{fields[1].split()[0]}")
    except (GaleraError, IndexError):
        raise InvalidInput(f"{path}: not a Galera position: {text[:80]!r}") from None


def checksums(directory: Path) -> dict[str, dict[str, Any]]:
    """Every file under ``directory`` (but the manifest): its size and sha256."""
    found = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        name = path.relative_to(directory).as_posix()
        if name == MANIFEST:
            continue
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
        found[name] = {"size": path.stat().st_size, "sha256": digest.hexdigest()}
    return found


def load(directory: Path) -> dict[str, Any]:
    """The manifest of a backup directory; bad input when there is none or it is unreadable."""
    path = directory / MANIFEST
    if not directory.is_dir():
        raise InvalidInput(f"{directory}: not a directory")
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise InvalidInput(
            f"{directory}: no {MANIFEST}: not a galeractl backup (or one that did not finish)"
        ) from None
    except (OSError, ValueError) as e:
        raise InvalidInput(f"{path}: unreadable: {e}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise InvalidInput(f"{path}: not a galeractl backup manifest")
    return manifest


def verify(directory: Path, mariadbd: str = MARIADBD) -> dict[str, Any]:
    """Every file as the manifest says, then the position a throwaway server recovers from
    a copy equal to the manifest's. The manifest; :class:`InvalidInput` naming the first
    file that differs."""
    manifest = load(directory)
    found = checksums(directory)
    for name, want in sorted(manifest["files"].items()):
        have = found.get(name)
        if have is None:
            raise InvalidInput(f"{directory}: {name} is missing")
        if have != want:
            raise InvalidInput(f"{directory}: {name} differs from the manifest (sha256, size)")
    extra = sorted(set(found) - set(manifest["files"]))
    if extra:
        raise InvalidInput(f"{directory}: {extra[0]} is not in the manifest")
    if manifest.get("prepared"):
        recovered = recover(directory, mariadbd)
        if str(recovered) != manifest["position"]:
            raise InvalidInput(
                f"{directory}: a server started on it recovers {recovered}, the manifest "
                f"says {manifest['position']}"
            )
    return manifest


def recover(directory: Path, mariadbd: str = MARIADBD) -> Position:
    """The position ``mariadbd --wsrep-recover`` finds in a copy of a prepared backup."""
    from galera.agent.datadir import DataDir

    with tempfile.TemporaryDirectory(prefix="galeractl-verify-") as scratch:
        data = Path(scratch) / "data"
        shutil.copytree(directory, data, ignore=shutil.ignore_patterns(MANIFEST))
        config = Path(scratch) / "my.cnf"
        config.write_text(
            "[mysqld]\n"
            f"datadir = {data}\n"
            f"socket = {scratch}/mysqld.sock\n"
            f"pid-file = {scratch}/mysqld.pid\n"
            f"tmpdir = {scratch}\n"
            "wsrep_on = ON\n"
            "wsrep_provider = /usr/lib/galera/libgalera_smm.so\n"
            "wsrep_cluster_address = gcomm://\n"
            "wsrep_sst_method = mariabackup\n"
            "binlog_format = ROW\n"
            "innodb_buffer_pool_size = 32M\n"
            "user = root\n"
        )
        return DataDir(data, Path(scratch), "backup").recover(mariadbd, config)


def series(version: str) -> str:
    """The release series of a server version (``10.11.19-MariaDB-0+deb12u1`` → ``10.11``)."""
    match = re.search(r"(\d+)\.(\d+)\.", version)
    return f"{match.group(1)}.{match.group(2)}" if match else ""


def check_server(directory: Path, manifest: dict[str, Any], mariadbd: str = MARIADBD) -> None:
    """Refuse a restore with a server of another release series than the backup's (InnoDB's
    files and the system tables differ between series; an upgrade runs on a started server,
    never on a restore)."""
    result = subprocess.run([mariadbd, "--version"], capture_output=True, text=True, check=False)
    here, there = series(result.stdout), series(str(manifest.get("server_version") or ""))
    if not there:
        raise InvalidInput(f"{directory}: the manifest names no server version")
    if here != there:
        raise InvalidInput(
            f"{directory}: taken from MariaDB {there}, and {mariadbd} here is "
            f"{here or 'of an unknown version'}: restore it with a {there} server"
        )


def restorable(directory: Path) -> Position:
    """A backup a cluster may start from: verified (files and position), prepared, of the
    MariaDB release series here; its position."""
    manifest = load(directory)
    check_server(directory, manifest)
    if not manifest.get("prepared"):
        raise InvalidInput(
            f"{directory}: taken with --no-prepare: a cluster starts only from a prepared "
            "backup (take it again without --no-prepare)"
        )
    return Position.parse(str(verify(directory)["position"]))
