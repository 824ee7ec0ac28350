"""Benchmark: ``galeractl backup`` against a plain ``mariabackup --backup`` of the same member.

  plain:     mariabackup --backup --target-dir on the member's host, under the member's SST
             account (no stream, no desync, no checksums)
  galeractl: galeractl backup --member galera-1 --no-prepare (through the agent: desync,
             xbstream over its API, mbstream -x, a sha256 of every file, the manifest)
Both back up the same member of a 3-member sandbox loaded with ``--rows`` rows of ~250
bytes, alternating, ``--rounds`` times; the medians are compared. Printed: the ratio of
the times galeractl/plain (goal <= 1.10).

Then restores of that sandbox from one prepared backup, every member stopped and emptied
first, until every member is Synced:

  all three: galeractl restore DIR --new-cluster (every member receives the backup through
             its agent; one bootstraps at its position, the others join by IST)
  one + SST: the backup into galera-0 only (the same agent endpoint), galeractl bootstrap;
             the two empty members join by full SST (mariabackup) from it
Printed: the ratio of the times all-three/one+SST (goal < 1.00), and the full SSTs each
took (0 and 2).

Usage: python bench/backup.py [--base-port 24400] [--rows 400000] [--rounds 3] [--quick]
(--quick: 40000 rows, one round).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from common import endpoints, galeractl, sandbox

from galera import sql
from galera.agent.backup import sst_credentials
from galera.controller import backup as backups
from galera.controller import members, restore
from galera.platforms.sandbox import Sandbox

MEMBER = "galera-1"


def load(box: Sandbox, rows: int) -> None:
    sql.execute(
        endpoints(box)[0],
        box.spec().credentials(),
        [
            "CREATE DATABASE IF NOT EXISTS bench",
            "CREATE TABLE IF NOT EXISTS bench.filler (id INT PRIMARY KEY, pad CHAR(250))",
            f"INSERT INTO bench.filler SELECT seq, REPEAT('x', 250) FROM bench.seq_1_to_{rows}",
        ],
    )


def plain(box: Sandbox, into: Path) -> float:
    member = box.root / "members" / MEMBER
    account = sst_credentials(str(box.secrets_cnf))
    options = into.parent / "plain.cnf"
    fd = os.open(options, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(
            f"!include {member / 'my.cnf'}\n[mariabackup]\nuser = {account.user}\n"
            f"password = {account.password}\nsocket = {member / 'mysqld.sock'}\n"
        )
    start = time.perf_counter()
    result = subprocess.run(
        ["mariabackup", f"--defaults-file={options}", "--backup", f"--target-dir={into}"],
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"mariabackup --backup failed: {result.stderr[-500:]}")
    return took


def ours(box: Sandbox, into: Path) -> float:
    start = time.perf_counter()
    result = galeractl(
        "backup", "-c", str(box.cluster_file), "--member", MEMBER, "--to", str(into), "--no-prepare"
    )
    took = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"galeractl backup failed: {result.stderr}")
    return took


def emptied(box: Sandbox) -> None:
    """Every member stopped and its data directory emptied (through the agents)."""
    clients = members.agents(box.spec())
    for client in clients.values():
        client.stop()
    for client in clients.values():
        client.reinit()


def restore_all(box: Sandbox, backup: Path) -> tuple[float, int]:
    emptied(box)
    ssts = box.full_ssts()
    start = time.perf_counter()
    result = galeractl(
        "restore", str(backup), "-c", str(box.cluster_file), "--new-cluster", "--yes"
    )
    took = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"galeractl restore failed: {result.stderr}")
    return took, box.full_ssts() - ssts


def restore_one(box: Sandbox, backup: Path) -> tuple[float, int]:
    emptied(box)
    ssts = box.full_ssts()
    position = str(backups.galera_position(backup))
    client = members.agents(box.spec())["galera-0"]
    start = time.perf_counter()
    client.restore(position, "bench", restore._tar_chunks(backup))
    result = galeractl("bootstrap", "-c", str(box.cluster_file), "--yes", "--timeout", "600")
    took = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"galeractl bootstrap of the one restored member failed: {result.stderr}")
    return took, box.full_ssts() - ssts


def size(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-port", type=int, default=24400)
    parser.add_argument("--rows", type=int, default=400000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="40000 rows, one round")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.rounds = 40000, 1
    scratch = Path(tempfile.mkdtemp(prefix="gbench-backup-"))
    try:
        with sandbox(3, args.base_port, "backup") as box:
            load(box, args.rows)
            t_plain, t_ours, volume = [], [], 0
            for i in range(args.rounds):  # alternating which goes first (a warm cache)
                if i % 2:
                    t_ours.append(ours(box, scratch / f"ours{i}"))
                t_plain.append(plain(box, scratch / f"plain{i}"))
                if not i % 2:
                    t_ours.append(ours(box, scratch / f"ours{i}"))
                volume = size(scratch / f"ours{i}")
                shutil.rmtree(scratch / f"plain{i}")
                shutil.rmtree(scratch / f"ours{i}")
            prepared = scratch / "prepared"
            taken = galeractl("backup", "-c", str(box.cluster_file), "--to", str(prepared))
            if taken.returncode != 0:
                raise SystemExit(f"galeractl backup failed: {taken.stderr}")
            r_all, r_one = [], []
            for i in range(args.rounds):
                order = (restore_all, restore_one) if i % 2 == 0 else (restore_one, restore_all)
                for how in order:
                    (r_all if how is restore_all else r_one).append(how(box, prepared))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    m_plain, m_ours = statistics.median(t_plain), statistics.median(t_ours)
    print(f"  plain mariabackup --backup: {', '.join(f'{t:.2f}' for t in t_plain)}s")
    print(f"  galeractl backup:           {', '.join(f'{t:.2f}' for t in t_ours)}s")
    print(
        f"backup  member={MEMBER}  rows={args.rows}  size={volume / 1048576:.0f}MiB  "
        f"galeractl={m_ours:.2f}s ({volume / 1048576 / m_ours:.0f} MiB/s)  "
        f"plain={m_plain:.2f}s ({volume / 1048576 / m_plain:.0f} MiB/s) (medians)  "
        f"ratio={m_ours / m_plain:.2f} (goal <= 1.10)"
    )
    m_all = statistics.median(t for t, _ in r_all)
    m_one = statistics.median(t for t, _ in r_one)
    print(f"  restore all three:  {', '.join(f'{t:.2f}s ({n} SST)' for t, n in r_all)}")
    print(f"  restore one + SST:  {', '.join(f'{t:.2f}s ({n} SST)' for t, n in r_one)}")
    print(
        f"restore  members=3  size={volume / 1048576:.0f}MiB  all-three={m_all:.2f}s "
        f"(full SSTs {max(n for _, n in r_all)})  one+SST={m_one:.2f}s "
        f"(full SSTs {min(n for _, n in r_one)}) (medians)  ratio={m_all / m_one:.2f} "
        "(goal < 1.00)"
    )


if __name__ == "__main__":
    main()
