"""What the benchmarks share: running galeractl, and a sandbox that is always torn down."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from galera import sql
from galera.config.endpoints import of_member
from galera.platforms.sandbox import Sandbox
from galera.testing import workload


def galeractl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "galera", *args], capture_output=True, text=True, check=False
    )


@contextmanager
def sandbox(nodes: int, base_port: int, name: str) -> Iterator[Sandbox]:
    """A fresh sandbox of ``nodes`` members, purged afterwards whatever happens."""
    root = Path(tempfile.mkdtemp(prefix=f"gbench-{name}-")) / "sb"
    try:
        up = galeractl(
            "sandbox",
            "up",
            "--nodes",
            str(nodes),
            "--dir",
            str(root),
            "--base-port",
            str(base_port),
        )
        if up.returncode != 0:
            raise SystemExit(f"sandbox up failed: {up.stderr.strip()}")
        yield Sandbox.load(root)
    finally:
        if (root / "sandbox.json").exists():
            galeractl("sandbox", "down", "--purge", "--dir", str(root))
        shutil.rmtree(root.parent, ignore_errors=True)


def endpoints(box: Sandbox) -> list[sql.Endpoint]:
    spec = box.spec()
    return [of_member(spec, m) for m in spec.members if not m.arbitrator]


def writer(box: Sandbox, threads: int = 3) -> workload.Writer:
    return workload.Writer(endpoints(box), box.spec().credentials(), threads=threads)
