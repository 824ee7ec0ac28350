"""What the benchmarks share: running galeractl, and a sandbox that is always torn down."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from galera import sql
from galera.config.endpoints import of_member
from galera.platforms.sandbox import Sandbox
from galera.testing import workload


def galeractl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_galeractl_cmd(*args), capture_output=True, text=True, check=False)


PORTS = 50  # a sandbox uses its base port and the 49 above it


def _galeractl_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "galera", *args]


@contextmanager
def sandboxes(
    nodes: int, base_port: int, name: str, tls: Sequence[bool], extra: Sequence[str] = ()
) -> Iterator[list[Sandbox]]:
    """Fresh sandboxes of ``nodes`` members, one for each entry of ``tls`` (with TLS, the
    sandbox's default, or plaintext: ``--no-tls``), the i-th at ``base_port + i * PORTS``.
    They come up at the same time (a sandbox's start is mostly waiting on Galera, so a
    second one costs little time) and are purged afterwards whatever happens.

    Each has a TMPDIR of its own, which its agents and servers inherit: a starting mariadbd
    deletes every ``#sql*`` file in its tmpdir (temporary tables left by a crash), /tmp by
    default, so a member starting in one sandbox could delete the temporary tables of the
    other's ``mariadb-install-db`` (or of any other suite's on this machine), which then
    fails: "ERROR: 1051 Unknown table 'mysql.tmp_user_sys'". ``extra`` is passed on to
    ``sandbox up`` (``--netns``, say)."""
    parent = Path(tempfile.mkdtemp(prefix=f"gbench-{name}-"))
    roots = [parent / f"sb{i}" for i in range(len(tls))]
    ups: list[subprocess.Popen[str]] = []
    try:
        for i, (root, on) in enumerate(zip(roots, tls, strict=True)):
            tmpdir = parent / f"tmp{i}"
            tmpdir.mkdir()
            cmd = _galeractl_cmd(
                "sandbox",
                "up",
                "--nodes",
                str(nodes),
                "--dir",
                str(root),
                "--base-port",
                str(base_port + i * PORTS),
                *([] if on else ["--no-tls"]),
                *extra,
            )
            ups.append(
                subprocess.Popen(
                    cmd,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env={**os.environ, "TMPDIR": str(tmpdir)},
                )
            )
        errors = [p.communicate()[1].strip() for p in ups]
        failed = [err for p, err in zip(ups, errors, strict=True) if p.returncode != 0]
        if failed:
            raise SystemExit(f"sandbox up failed: {'; '.join(failed)}")
        yield [Sandbox.load(root) for root in roots]
    finally:
        for p in ups:  # an interrupted run: let every start finish before tearing down
            p.wait()
        downs = [
            subprocess.Popen(
                _galeractl_cmd("sandbox", "down", "--purge", "--dir", str(root)),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for root in roots
            if (root / "sandbox.json").exists()
        ]
        for p in downs:
            p.wait()
        shutil.rmtree(parent, ignore_errors=True)


@contextmanager
def sandbox(
    nodes: int, base_port: int, name: str, tls: bool = True, extra: Sequence[str] = ()
) -> Iterator[Sandbox]:
    """A fresh sandbox of ``nodes`` members (see :func:`sandboxes`)."""
    with sandboxes(nodes, base_port, name, [tls], extra) as (box,):
        yield box


def endpoints(box: Sandbox) -> list[sql.Endpoint]:
    spec = box.spec()
    return [of_member(spec, m) for m in spec.members if not m.arbitrator]


def writer(box: Sandbox, threads: int = 3) -> workload.Writer:
    return workload.Writer(endpoints(box), box.spec().credentials(), threads=threads)
