"""The member's data directory as the agent sees it: grastate, bootstrap mark, recovery.

The *bootstrap mark* is a one-shot permission, written by the controller, for this member's
next start to form a new cluster. It records the position the controller chose it for; it is
consumed (deleted) by the start that uses it, so a later restart can never form a second
cluster because of an old mark.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from galera.domain import grastate
from galera.domain.grastate import Grastate
from galera.domain.position import ZERO_UUID, Position
from galera.errors import GaleraError, InvalidInput, OperationFailed, UnsafeOperation
from galera.proc import alive

if TYPE_CHECKING:
    from galera.config.agent import AgentConfig

log = logging.getLogger("galera.agent")

MARK_FILE = "bootstrap.mark"
RESTORE_MARKER = "galeractl-restore-in-progress"  # see galera.agent.restore
_RECOVERED_RE = re.compile(r"WSREP: Recovered position:\s*([0-9a-f-]{36}:-?\d+)")


@dataclass(frozen=True)
class DataDir:
    """Paths and operations on one member's data directory and run directory."""

    datadir: Path
    rundir: Path
    member: str

    @property
    def grastate_path(self) -> Path:
        return self.datadir / "grastate.dat"

    @property
    def mark_path(self) -> Path:
        return self.rundir / MARK_FILE

    # -- grastate -----------------------------------------------------------------------

    def pristine(self) -> bool:
        """No system tables and no Galera history (no ``grastate.dat``, or the zero UUID a
        join attempt that found no cluster leaves): a member that never held any data."""
        if (self.datadir / "mysql").exists():
            return False
        try:
            state = self.grastate()
        except GaleraError:
            return False
        return state is None or state.empty

    def grastate(self) -> grastate.Grastate | None:
        """The parsed ``grastate.dat``; None when absent. Corrupt files raise, naming line.

        An empty file in a data directory without system tables is what a join attempt that
        never reached a cluster leaves behind (Galera creates it before connecting): it holds
        no history and counts as absent. An empty file beside data is corruption.
        """
        if (self.datadir / RESTORE_MARKER).exists():
            raise InvalidInput(
                "a restore into this data directory is under way or was interrupted: its "
                "data is incomplete (restore again, or empty it: galeractl reinit)",
                member=self.member,
            )
        try:
            text = self.grastate_path.read_text(errors="replace")
        except FileNotFoundError:
            return None
        except OSError as e:
            raise InvalidInput(f"{self.grastate_path}: {e.strerror}", member=self.member) from None
        if not text.strip() and not (self.datadir / "mysql").exists():
            return None
        return grastate.parse(text, str(self.grastate_path))

    def position(self, recovered: Position | None) -> Position | None:
        """Where this member's data is, confirmed: ``grastate.dat``'s position when it holds
        one, else ``recovered`` when it belongs to the history ``grastate.dat`` names. None
        when unknown: no file, the zero UUID (a discarded member: its InnoDB files still
        hold a position, which says nothing about a history), no recovery since it stopped,
        or a recovery of another history."""
        state = self.grastate()
        if state is None or state.empty:
            return None
        if not state.needs_recovery:
            return state.position
        return recovered if recovered is not None and recovered.uuid == state.uuid else None

    def discard_empty_grastate(self) -> None:
        """Remove the empty ``grastate.dat`` a failed first join left (it holds nothing), so
        that a member being initialised does not carry it next to its new data."""
        if self.pristine() and self.grastate_path.exists():
            self.grastate_path.unlink()

    def set_safe_to_bootstrap(self) -> None:
        """Set ``safe_to_bootstrap: 1`` (Galera refuses ``--wsrep-new-cluster`` without it)."""
        state = self.grastate()
        if state is None or state.safe_to_bootstrap:
            return
        self.write_grastate(grastate.Grastate(state.version, state.uuid, state.seqno, True))

    def write_grastate(self, state: Grastate, sync: bool = False) -> None:
        """Replace ``grastate.dat`` atomically; with ``sync``, durably (after the data it
        describes: a restore's)."""
        tmp = self.grastate_path.with_suffix(".tmp")
        with open(tmp, "w") as f:
            f.write(state.render())
            if sync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, self.grastate_path)
        if sync:
            sync_directory(self.datadir)

    def discard_position(self) -> Position | None:
        """A person accepted losing this member's own transactions: its ``grastate.dat``
        says "new member" (the zero UUID), so that it joins by a full SST; the old file is
        kept beside it as ``grastate.dat.discarded``. The position it held, if any."""
        state = self.grastate()
        if state is None:
            return None
        kept = self.grastate_path.with_name("grastate.dat.discarded")
        kept.write_text(self.grastate_path.read_text())
        self.write_grastate(grastate.Grastate("2.1", ZERO_UUID, -1, False))
        return state.position

    def reinit(self, keep: frozenset[Path]) -> dict[str, object]:
        """Empty the data directory (see :meth:`empty`) and drop the bootstrap mark with it:
        the entries and bytes removed and the position the member held, if known."""
        try:
            position = self.position(None)
        except GaleraError:
            position = None  # a corrupt grastate.dat is one reason to reinit
        try:
            entries, size = self.empty(keep)
        except OSError as e:
            raise OperationFailed(
                f"emptying {self.datadir} failed part-way: {e}; it joins by a full SST, "
                "which replaces what is left",
                member=self.member,
            ) from None
        self.clear_mark()
        log.warning(
            "data directory emptied (%d entries, %d bytes; position was %s): the next join "
            "is a full SST",
            entries,
            size,
            position,
        )
        return {"entries": entries, "bytes": size, "position": str(position) if position else None}

    def empty(self, keep: frozenset[Path] = frozenset()) -> tuple[int, int]:
        """Remove everything in the data directory but ``keep`` (and a file system's
        ``lost+found``): the member joins next by a full SST. The directory itself stays (it
        may be a mount point). The entries and bytes removed."""
        entries = size = 0
        kept = {k.resolve() for k in keep}
        # grastate.dat first: a directory emptied part-way then still joins by SST.
        ordered = sorted(self.datadir.iterdir(), key=lambda p: (p != self.grastate_path, p))
        for path in ordered:
            if path.name == "lost+found" or path.resolve() in kept:
                continue
            if any(k.is_relative_to(path.resolve()) for k in kept):
                continue  # a directory holding the agent's own files (never expected)
            entries += 1
            if path.is_dir() and not path.is_symlink():
                size += sum(f.lstat().st_size for f in path.rglob("*") if f.is_file())
                shutil.rmtree(path)
            else:
                size += path.lstat().st_size
                path.unlink()
        return entries, size

    def restore_after_join(self, position: Position) -> None:
        """After a join attempt that received nothing: ``grastate.dat`` back at ``position``
        and no ``sst_in_progress`` marker (the data never changed)."""
        self.write_grastate(grastate.Grastate("2.1", position.uuid, position.seqno, False))
        (self.datadir / "sst_in_progress").unlink(missing_ok=True)
        self.clean_stale_sst()

    @property
    def sst_interrupted(self) -> bool:
        """A state transfer into this directory was interrupted: its data is incomplete."""
        return (self.datadir / "sst_in_progress").exists()

    def clean_stale_sst(self) -> list[str]:
        """Remove a ``wsrep_sst.pid`` whose process is gone (it blocks the next SST)."""
        removed = []
        pid_file = self.datadir / "wsrep_sst.pid"
        try:
            pid = int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pid = 0
        if pid_file.exists() and not alive(pid):
            pid_file.unlink(missing_ok=True)
            removed.append(pid_file.name)
        return removed

    # -- option overrides (upgrades) -----------------------------------------------------

    @property
    def overrides_path(self) -> Path:
        return self.rundir / "overrides.json"

    def overrides(self) -> dict[str, str]:
        """mysqld options set by ``galeractl upgrade``, applied at every start."""
        try:
            data = json.loads(self.overrides_path.read_text())
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def set_overrides(self, options: dict[str, str]) -> None:
        self.rundir.mkdir(parents=True, exist_ok=True)
        tmp = self.overrides_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(options, indent=2))
        os.replace(tmp, self.overrides_path)

    # -- the bootstrap mark -------------------------------------------------------------

    def mark(self) -> dict[str, object] | None:
        try:
            mark = json.loads(self.mark_path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {"corrupt": True}
        if not isinstance(mark, dict) or not isinstance(mark.get("position"), str):
            return {"corrupt": True}
        return mark

    def set_mark(self, position: Position, by: str = "") -> dict[str, object]:
        mark = {"position": str(position), "at": time.time(), "by": by}
        self.rundir.mkdir(parents=True, exist_ok=True)
        tmp = self.mark_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(mark))
        os.replace(tmp, self.mark_path)
        return mark

    def clear_mark(self) -> bool:
        try:
            self.mark_path.unlink()
        except FileNotFoundError:
            return False
        return True

    def consume_mark(self, current: Position | None) -> Position:
        """Check and delete the mark before a bootstrap start; returns its position.

        Refused when there is no mark, or when the member's position (``current``, see
        :meth:`position`) is unknown or no longer the one it was chosen for: a stale decision
        must not form a cluster. Only a corrupt mark is removed by a refusal.
        """
        mark = self.mark()
        if mark is None:
            raise UnsafeOperation(
                "no bootstrap mark: only 'galeractl bootstrap' may ask this "
                "member to form a new cluster",
                member=self.member,
            )
        if mark.get("corrupt"):
            self.clear_mark()
            raise UnsafeOperation(
                "the bootstrap mark is corrupt; it was removed", member=self.member
            )
        try:
            marked = Position.parse(str(mark["position"]))
        except InvalidInput:
            self.clear_mark()
            raise UnsafeOperation(
                "the bootstrap mark is corrupt; it was removed", member=self.member
            ) from None
        if self.sst_interrupted:
            raise UnsafeOperation(
                "a state transfer into this member was interrupted: its data is incomplete "
                "and must not form a cluster",
                member=self.member,
            )
        if current is None:
            raise UnsafeOperation(
                f"the bootstrap mark is for position {marked} but this member's position is "
                "unknown (grastate.dat holds none and no --wsrep-recover of its history ran "
                "since it stopped); run 'galeractl bootstrap' again, which recovers it first",
                member=self.member,
            )
        if current != marked:
            raise UnsafeOperation(
                f"the bootstrap mark is for position {marked} but the member "
                f"is at {current}; run 'galeractl bootstrap' again",
                member=self.member,
            )
        self.clear_mark()
        return marked

    # -- recovery -----------------------------------------------------------------------

    def recover(self, mariadbd: str, config_file: Path, timeout: float = 600) -> Position:
        """Run ``mariadbd --wsrep-recover`` (no clients, no cluster) and parse the position."""
        log = self.rundir / "recover.log"
        cmd = [
            mariadbd,
            f"--defaults-file={config_file}",
            "--wsrep-recover",
            "--disable-log-error",
            "--skip-networking",
        ]
        with open(log, "w") as out:
            try:
                result = subprocess.run(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise OperationFailed(
                    f"--wsrep-recover did not finish in {timeout:.0f}s", member=self.member
                ) from None
        text = log.read_text(errors="replace")
        found = _RECOVERED_RE.findall(text)
        if result.returncode != 0 or not found:
            tail = " | ".join(line.strip() for line in text.strip().splitlines()[-3:])
            raise OperationFailed(
                f"--wsrep-recover failed (exit {result.returncode}): {tail}", member=self.member
            )
        return Position.parse(found[-1])


def sync_directory(path: Path) -> None:
    """Make the entries of ``path`` durable (after files were written or renamed in it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def own_paths(config: AgentConfig) -> frozenset[Path]:
    """The agent's and the server's own files: emptying a data directory never removes one
    of them, should the configuration put it there."""
    files = [
        config.server.log_error,
        config.server.secrets_file,
        config.rundir,
        config.config_file,
        config.token_file,
        config.credentials_file,
        config.admin_credentials_file,
        config.init_file,
        *((config.tls.ca, config.tls.cert, config.tls.key) if config.tls else ()),
    ]
    return frozenset(Path(f) for f in files if f)
