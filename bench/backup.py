"""Benchmark: ``galeractl backup`` against a plain ``mariabackup --backup`` of the same member.

  plain:     mariabackup --backup --target-dir on the member's host, under the member's SST
             account (no stream, no desync, no checksums)
  galeractl: galeractl backup --member galera-1 --no-prepare (through the agent: desync,
             xbstream over its API, mbstream -x, a sha256 of every file, the manifest)
Both back up the same member of a 3-member sandbox loaded with ``--rows`` rows of ~250
bytes, alternating, ``--rounds`` times; the medians are compared. Printed: the ratio of
the throughputs' times galeractl/plain (goal <= 1.10).

Restoring 3 members from one backup against restoring one and letting the others SST is
not measured yet (``sandbox up --from-backup`` restores all three; a restore of one member
with SST joiners is not offered to compare with).

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
    print("backup  restore of 3 members against 1 restored + 2 SSTs: not measured yet")


if __name__ == "__main__":
    main()
