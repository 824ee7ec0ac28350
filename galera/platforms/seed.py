"""Seeding: one initialisation of galera-0 shared by every member, so joiners need no SST."""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from galera import poll
from galera.domain import grastate
from galera.domain.backup import NOT_RESTORED
from galera.domain.position import Position
from galera.errors import OperationFailed
from galera.platforms.sandbox_files import (
    CLIENT,
    INSTALL_DB,
    MARIADBD,
    SEED_TIMEOUT,
    MemberPlan,
    member_config,
)
from galera.render import render_member_config

if TYPE_CHECKING:
    from galera.platforms.sandbox import Sandbox


def seed(sb: Sandbox) -> None:
    """Give every member the same initial history so joiners need no full SST.

    galera-0 is initialised, started alone as a new cluster, given its users, and shut
    down cleanly; its data directory is then copied to the other members with
    ``safe_to_bootstrap: 0``. When they join, their position equals the cluster's and
    the state transfer is an empty IST instead of a full copy.
    """
    first = sb.data_members[0]
    first.datadir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            INSTALL_DB,
            "--no-defaults",
            f"--datadir={first.datadir}",
            "--user=root",
            "--skip-test-db",
            "--auth-root-authentication-method=socket",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise OperationFailed(
            f"mariadb-install-db failed: {result.stderr.strip()[-300:]}", member=first.name
        )
    peers = [f"{m.address}:{m.galera_port}" for m in sb.members]
    config = first.home / "my.cnf"
    config.write_text(render_member_config(member_config(sb, first, peers)))
    log = first.home / "seed.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [*sb.prefix(first), MARIADBD, f"--defaults-file={config}", "--wsrep-new-cluster"],
            stdout=out,
            stderr=out,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        _run_seed_sql(sb, first, proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(SEED_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise OperationFailed(
                "seed server did not shut down cleanly", member=first.name
            ) from None
    state_path = first.datadir / "grastate.dat"
    seeded = grastate.parse(state_path.read_text(), str(state_path))
    if not seeded.safe_to_bootstrap or seeded.needs_recovery:
        raise OperationFailed(
            f"seed left an unexpected grastate ({seeded.position})", member=first.name
        )
    skip = shutil.ignore_patterns(*NOT_RESTORED, "*.pid", "*.sock")
    for m in sb.data_members[1:]:
        shutil.copytree(first.datadir, m.datadir, ignore=skip, dirs_exist_ok=True)
        copy = grastate.Grastate(seeded.version, seeded.uuid, seeded.seqno, False)
        (m.datadir / "grastate.dat").write_text(copy.render())


def _run_seed_sql(sb: Sandbox, m: MemberPlan, proc: subprocess.Popen[bytes]) -> None:
    def alive() -> None:
        if proc.poll() is not None:
            raise OperationFailed(
                f"seed server exited with code {proc.returncode}; see {m.home / 'mariadbd.err'}",
                member=m.name,
            )

    _seed_sql_as_root(sb, m, "the seed server", alive)


def _seed_sql_as_root(
    sb: Sandbox, m: MemberPlan, what: str, alive: Callable[[], None] = lambda: None
) -> None:
    """Run the sandbox's ``seed.sql`` (accounts, grants) through ``m``'s local socket as
    root once the server answers (``alive`` raises when it died); the file is removed
    afterwards: it holds passwords."""
    sql = (sb.root / "seed.sql").read_text()
    last = [""]

    def done() -> bool | None:
        alive()
        result = subprocess.run(
            [CLIENT, "--no-defaults", f"--socket={m.socket}", "-u", "root", "--batch"],
            input=sql,
            capture_output=True,
            text=True,
            check=False,
        )
        last[0] = result.stderr.strip()[-200:]
        return True if result.returncode == 0 else None

    poll.until(
        done, timeout=SEED_TIMEOUT, interval=0.3, what=what, seen=lambda: last[0], member=m.name
    )
    (sb.root / "seed.sql").unlink()


# -- processes ----------------------------------------------------------------------


def seed_from(sb: Sandbox, backup: Path, position: Position) -> None:
    """Give every member the same history from a prepared backup (verified by the caller):
    its files in every data directory, ``grastate.dat`` written from its Galera position,
    safe to bootstrap on the first member only. The first then forms the cluster at that
    position and the others join by IST (see :func:`reset_accounts`)."""
    skip = shutil.ignore_patterns(*NOT_RESTORED)
    for i, m in enumerate(sb.data_members):
        if m.datadir.exists() and any(m.datadir.iterdir()):
            raise OperationFailed(f"{m.datadir} holds data: not restoring over it", member=m.name)
        shutil.copytree(backup, m.datadir, ignore=skip, dirs_exist_ok=True)
        state = grastate.Grastate("2.1", position.uuid, position.seqno, i == 0)
        (m.datadir / "grastate.dat").write_text(state.render())


def reset_accounts(sb: Sandbox, m: MemberPlan) -> None:
    """The first member of a restored sandbox, once it runs: this sandbox's accounts
    (a backup holds its own cluster's), through the local socket as root. They replicate
    to the joiners as ordinary write sets, by IST."""
    _seed_sql_as_root(sb, m, "the restored first member's accounts")
