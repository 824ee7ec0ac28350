"""Physical backups through the agents, on a real cluster under a writer: the position they
carry, the desync always undone (also when galeractl is killed), and their verification.

The module's sandbox is left healthy after every test.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from galera import poll, sql
from galera.config import endpoints
from galera.controller import backup as backups
from galera.controller import members, restore
from galera.domain.position import Position
from galera.errors import GaleraError
from galera.testing import workload
from tests.helpers import ROOT, Result, events, galeractl, of, one_line_error
from tests.integration.conftest import SandboxHandle, _up

pytestmark = pytest.mark.cluster


def variable(handle: SandboxHandle, member: str, name: str) -> str:
    spec = handle.spec
    conn = sql.connect(endpoints.of_member(spec, spec.member(member)), spec.credentials())
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT @@GLOBAL.{name}")
            return str(cur.fetchone()[0])
    finally:
        conn.close()


@dataclass
class Taken:
    """A backup taken under a writer: where, what it printed, and which acknowledged writes
    it must hold (acknowledged before it began) or must not (after it ended)."""

    target: Path
    result: Result
    before: set[str]
    after: set[str]
    acked: set[str]


@pytest.fixture(scope="module")
def taken(sandbox3: SandboxHandle, tmp_path_factory: pytest.TempPathFactory) -> Taken:
    target = tmp_path_factory.mktemp("backups") / "backup"
    cluster = str(sandbox3.cluster_file)
    with sandbox3.writer() as writer:
        writer.wait_for_acks(100)
        before = set(writer.stats.acked)
        result = galeractl("backup", "-c", cluster, "--to", str(target), "-o", "json")
        assert result.code == 0, result.stderr
        ended = set(writer.stats.acked)
        writer.wait_for_acks(len(writer.stats.acked) + 100)
    return Taken(target, result, before, set(writer.stats.acked) - ended, writer.stats.acked)


def test_a_backup_under_the_writer_carries_its_position_and_verifies(
    sandbox3: SandboxHandle, taken: Taken, tmp_path: Path
) -> None:
    (started,) = of(events(taken.result), "backup_started")
    (done,) = of(events(taken.result), "backup_taken")
    donor = started["member"]  # no writer designated here: the last Synced member by name
    assert started["reason"] == "galera-2: Synced; 2 other Synced member(s) keep serving"
    assert variable(sandbox3, donor, "wsrep_desync") == "0"  # resynchronised
    manifest = json.loads((taken.target / backups.MANIFEST).read_text())
    position = Position.parse(manifest["position"])
    assert manifest["member"] == donor and done["position"] == manifest["position"]
    state = sandbox3.status()["members"][0]["cluster_state_uuid"]  # type: ignore[index]
    assert position.uuid == state and position.seqno > 0
    assert manifest["prepared"] and manifest["server_version"].startswith("10.11")
    assert manifest["files"]["xtrabackup_galera_info"]["size"] > 0
    check = sandbox3.check(taken.acked)
    assert check.ok, check.message
    verified = galeractl("backup", "verify", str(taken.target), "-o", "json")
    assert verified.code == 0, verified.stderr
    assert verified.json() == {
        "ok": True,
        "position": manifest["position"],
        "files": len(manifest["files"]),
    }
    # A flipped byte (in a copy): verify and a restore refuse, naming the file.
    copy = tmp_path / "flipped"
    shutil.copytree(taken.target, copy)
    victim = next(n for n in manifest["files"] if n.endswith(".frm"))
    data = bytearray((copy / victim).read_bytes())
    data[len(data) // 2] ^= 0x01
    (copy / victim).write_bytes(bytes(data))
    never = ("sandbox", "up", "--dir", str(tmp_path / "never"), *_restore(copy))
    cluster = str(sandbox3.cluster_file)
    restore = ("restore", str(copy), "-c", cluster, "--new-cluster", "--yes")
    for args in (("backup", "verify", str(copy)), never, restore):
        refused = galeractl(*args)
        assert refused.code == 2, refused.stderr
        assert one_line_error(refused).startswith(f"galeractl: {copy}: {victim} differs from")
    assert not (tmp_path / "never" / "members").exists()  # nothing was set up
    # A backup of another server release series: a restore refuses it, naming both.
    older = tmp_path / "older"
    shutil.copytree(taken.target, older)
    (older / backups.MANIFEST).write_text(
        json.dumps({**manifest, "server_version": "10.6.18-MariaDB-log"})
    )
    refused = galeractl("sandbox", "up", "--dir", str(tmp_path / "never"), *_restore(older))
    assert refused.code == 2
    assert one_line_error(refused).startswith(f"galeractl: {older}: taken from MariaDB 10.6, and")
    assert not (tmp_path / "never" / "members").exists()


def _restore(backup: Path) -> tuple[str, ...]:
    return ("--base-port", "26600", "--from-backup", str(backup))


def test_a_sandbox_restored_from_the_backup_holds_its_writes_and_joined_by_ist(
    taken: Taken, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Every write acknowledged before the backup began is there, none acknowledged after
    it ended; the first member formed the cluster at the backup's position and the others
    joined by IST (no full SST anywhere); every member holds the same rows."""
    for restored in _up(tmp_path_factory.mktemp("restored"), *_restore(taken.target)):
        assert restored.sandbox.full_ssts() == 0
        spec = restored.spec
        check = restored.check(taken.before)  # on every member, and members identical
        assert check.ok, check.message
        members = [endpoints.of_member(spec, m) for m in spec.members]
        sums = workload.checksums(members, spec.credentials())
        assert len(set(sums.values())) == 1, sums
        lacking = workload.absent(members, spec.credentials(), taken.after)
        assert taken.after and lacking == {m: taken.after for m in lacking} and len(lacking) == 3
        status = galeractl("status", "-c", str(restored.cluster_file))
        assert status.code == 0, status.stdout


def test_galeractl_killed_mid_backup_leaves_the_donor_resynchronised(
    sandbox3: SandboxHandle, tmp_path: Path
) -> None:
    target = tmp_path / "killed"
    command = [sys.executable, "-m", "galera", "backup", "-c", str(sandbox3.cluster_file)]
    proc = subprocess.Popen(
        [*command, "--member", "galera-1", "--to", str(target), "--no-prepare"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        poll.until(
            lambda: variable(sandbox3, "galera-1", "wsrep_desync") == "1" or None,
            timeout=30,
            interval=0.05,
            what="galera-1 desynchronised by the backup",
        )
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    poll.until(
        lambda: variable(sandbox3, "galera-1", "wsrep_desync") == "0" or None,
        timeout=30,
        interval=0.2,
        what="galera-1 resynchronised after galeractl was killed",
    )
    sandbox3.wait_synced()
    assert not (target / backups.MANIFEST).exists()  # never mistaken for a backup
    assert galeractl("backup", "verify", str(target)).code != 0


def test_bad_input_changes_nothing(sandbox3: SandboxHandle, tmp_path: Path) -> None:
    cluster = str(sandbox3.cluster_file)
    unknown = galeractl("backup", "-c", cluster, "--member", "galera-9", "--to", str(tmp_path))
    assert unknown.code == 2 and "unknown member 'galera-9'" in one_line_error(unknown)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "something").write_text("x")
    busy = galeractl("backup", "-c", cluster, "--to", str(tmp_path / "full"))
    assert busy.code == 2
    assert one_line_error(busy) == (
        f"galeractl: --to {tmp_path / 'full'}: not an empty directory; nothing was written"
    )
    assert galeractl("backup", "verify", str(tmp_path / "full")).code == 2
    assert all(variable(sandbox3, n, "wsrep_desync") == "0" for n in ("galera-0", "galera-1"))


def test_restore_as_a_new_cluster_through_the_agents(sandbox3: SandboxHandle, taken: Taken) -> None:
    """`galeractl restore DIR --new-cluster` on the cluster-file platform (VMs): refused while
    the members hold data; once their data directories are empty (stopped and emptied
    through their agents), every member receives the backup and the cluster forms at its
    position, the others joining by IST. Last in the module: the sandbox ends restored."""
    cluster = str(sandbox3.cluster_file)
    refused = galeractl("restore", str(taken.target), "-c", cluster, "--new-cluster", "--yes")
    assert refused.code == 1
    assert "holds data" in one_line_error(refused) and "nothing was changed" in refused.stderr
    assert galeractl("status", "-c", cluster).code == 0  # untouched
    unasked = galeractl("restore", str(taken.target), "-c", cluster, "--yes")
    assert unasked.code == 2 and "--new-cluster" in one_line_error(unasked)
    clients = members.agents(sandbox3.spec)
    for client in clients.values():
        client.stop()
    for client in clients.values():
        client.reinit()
    # An earlier run broke off: galera-1 received all of the backup, galera-2 half of it.
    manifest_bytes = (taken.target / backups.MANIFEST).read_bytes()
    digest = hashlib.sha256(manifest_bytes).hexdigest()[:16]
    position = json.loads(manifest_bytes)["position"]
    clients["galera-1"].restore(position, digest, restore._tar_chunks(taken.target))

    def half() -> Iterator[bytes]:
        chunks = restore._tar_chunks(taken.target)
        yield next(chunks)
        yield next(chunks)
        raise OSError("the sender went away")

    with pytest.raises((GaleraError, OSError)):
        clients["galera-2"].restore(position, digest, half())
    assert clients["galera-2"].status()["grastate"]["restore_interrupted"]
    ssts = sandbox3.sandbox.full_ssts()
    result = galeractl(
        "restore",
        str(taken.target),
        "-c",
        cluster,
        "--new-cluster",
        "--yes",
        "-o",
        "json",
        timeout=600,
    )
    assert result.code == 0, result.stderr + result.stdout
    evts = events(result)
    restored = of(evts, "restored")
    manifest = json.loads((taken.target / backups.MANIFEST).read_text())
    assert sorted(e["member"] for e in restored) == ["galera-0", "galera-1", "galera-2"]
    assert {e["position"] for e in restored} == {manifest["position"]}
    assert of(evts, "summary")[-1]["verdict"] == "healthy"
    assert sandbox3.sandbox.full_ssts() == ssts  # the joiners took no full SST
    spec = sandbox3.spec
    check = sandbox3.check(taken.before)
    assert check.ok, check.message
    endpoints_ = [endpoints.of_member(spec, m) for m in spec.members]
    sums = workload.checksums(endpoints_, spec.credentials())
    assert len(set(sums.values())) == 1, sums
    lacking = workload.absent(endpoints_, spec.credentials(), taken.after)
    assert taken.after and len(lacking) == 3 and all(v == taken.after for v in lacking.values())
