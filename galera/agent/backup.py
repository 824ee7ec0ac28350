"""A physical backup of this member, streamed to galeractl (``POST /v1/backup``).

``mariabackup --backup --galera-info --stream=xbstream`` runs here, under the member's own
SST account (the one donors already use: ``RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR``),
its password in a 0600 option file of the agent's, never on a command line. The member is
desynchronised (``wsrep_desync``) for the duration, so that flow control never throttles
the cluster behind it, and always resynchronised: when the backup ends, fails, or its
client goes away (the stream's next write fails and mariabackup is killed). A marker in the
run directory says a backup desynchronised the member: an agent that died in the middle
resynchronises it when it starts again (:meth:`Backups.undo_leftover`).

One backup at a time per member.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from galera import sql
from galera.domain.credentials import Credentials
from galera.errors import GaleraError, OperationFailed, UnsafeOperation

log = logging.getLogger("galera.agent")

MARKER = "galeractl-backup.json"
CHUNK = 256 * 1024
MARIABACKUP = "/usr/bin/mariabackup"


def sst_credentials(secrets_file: str) -> Credentials:
    """The SST account from the member's secrets file (``wsrep_sst_auth = user:password``)."""
    import configparser

    parser = configparser.ConfigParser(allow_no_value=True, interpolation=None, strict=False)
    try:
        parser.read_string(Path(secrets_file).read_text(), source=secrets_file)
    except (OSError, configparser.Error) as e:
        raise OperationFailed(f"cannot read the SST account from {secrets_file}: {e}") from None
    auth = (parser.get("mysqld", "wsrep_sst_auth", fallback="") or "").strip().strip("'\"")
    user, _, password = auth.partition(":")
    if not user:
        raise OperationFailed(f"{secrets_file} names no SST account (wsrep_sst_auth)")
    return Credentials(user, password)


class Backups:
    """This member's backups: at most one at a time, the desync always undone."""

    def __init__(
        self,
        rundir: Path,
        config_file: Path,
        socket: str,
        secrets_file: str,
        admin: Callable[[], Credentials],
        running: Callable[[], bool],
        mariabackup: str = MARIABACKUP,
    ) -> None:
        self.rundir = rundir
        self.config_file = config_file
        self.socket = socket
        self.secrets_file = secrets_file
        self.admin = admin
        self.running = running
        self.mariabackup = mariabackup
        self.marker = rundir / MARKER
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        """A backup of this member is running."""
        return self._lock.locked()

    def _desync(self, on: bool) -> None:
        endpoint = sql.Endpoint(unix_socket=self.socket, connect_timeout=2.0, read_timeout=30.0)
        value = "ON" if on else "OFF"
        sql.execute(endpoint, self.admin(), [f"SET GLOBAL wsrep_desync = {value}"])

    def undo_leftover(self) -> None:
        """A backup that did not end here left the member desynchronised: resynchronise it
        (once mariadbd answers; retried by the caller until it does). The working
        directories of backups that did not end (an option file with the SST password
        among them) are removed."""
        for leftover in self.rundir.glob("backup-*"):
            with contextlib.suppress(OSError):
                for path in leftover.iterdir():
                    path.unlink()
                leftover.rmdir()
        if not self.marker.exists() or not self.running():
            return
        try:
            self._desync(False)
        except GaleraError as e:
            log.warning("cannot resynchronise after an interrupted backup yet: %s", e.message)
            return
        self.marker.unlink(missing_ok=True)
        log.warning("resynchronised this member after a backup that did not end")

    def resync_leftover(self, stop: threading.Event, every: float = 2.0) -> None:
        """Until the leftover of an interrupted backup is undone (or ``stop``)."""
        self.undo_leftover()
        while self.marker.exists() and not stop.wait(every):
            self.undo_leftover()

    def stream(self, write: Callable[[bytes], None]) -> int:
        """Run one backup, handing its xbstream to ``write`` chunk by chunk; the bytes sent.
        Raises :class:`UnsafeOperation` before anything is sent when it cannot start."""
        if not self._lock.acquire(blocking=False):
            raise UnsafeOperation("a backup of this member is already running")
        try:
            if not self.running():
                raise UnsafeOperation("mariadbd is not running: nothing to back up")
            credentials = sst_credentials(self.secrets_file)
            self.marker.write_text(json.dumps({"pid": os.getpid()}))
            try:
                self._desync(True)
                return self._run(credentials, write)
            finally:
                self._resync()
        finally:
            self._lock.release()

    def _resync(self) -> None:
        try:
            self._desync(False)
        except GaleraError as e:  # the marker stays: retried until it succeeds
            log.error("could not resynchronise after the backup: %s", e.message)
            return
        self.marker.unlink(missing_ok=True)

    def _run(self, credentials: Credentials, write: Callable[[bytes], None]) -> int:
        work = Path(tempfile.mkdtemp(prefix="backup-", dir=self.rundir))
        options = work / "backup.cnf"
        fd = os.open(options, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(
                f"!include {self.config_file}\n[mariabackup]\nuser = {credentials.user}\n"
                f"password = {credentials.password}\nsocket = {self.socket}\n"
            )
        command = [
            self.mariabackup,
            f"--defaults-file={options}",
            "--backup",
            "--galera-info",
            "--stream=xbstream",
            f"--target-dir={work}",
        ]
        errors = work / "mariabackup.log"
        sent = 0
        with open(errors, "wb") as err:
            child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err)
            try:
                assert child.stdout is not None
                while chunk := child.stdout.read(CHUNK):
                    write(chunk)  # the client gone: OSError, and mariabackup is killed
                    sent += len(chunk)
                code = child.wait()
            finally:
                if child.poll() is None:
                    child.kill()
                    child.wait()
        tail = errors.read_text(errors="replace").strip().splitlines()[-3:]
        with contextlib.suppress(OSError):
            for path in work.iterdir():
                path.unlink()
            work.rmdir()
        if code != 0:
            raise OperationFailed(f"mariabackup failed (exit {code}): {' / '.join(tail)}")
        return sent


def respond(
    backups: Backups,
    begin: Callable[[], None],
    write: Callable[[bytes], object],
    refuse: Callable[[GaleraError], None],
) -> None:
    """Answer ``POST /v1/backup``: the xbstream as a chunked body (``begin`` sends the
    headers). Refused with a JSON error before any byte is sent; a stream that fails after
    it began ends without its last (empty) chunk, so the client sees it truncated."""
    started = False

    def chunk(data: bytes) -> None:
        nonlocal started
        if not started:
            begin()
            started = True
        write(b"%x\r\n%s\r\n" % (len(data), data))

    try:
        backups.stream(chunk)
    except GaleraError as e:
        if not started:
            refuse(e)
        else:
            log.error("backup failed after it began: %s", e)
        return
    except OSError as e:  # the client went away: mariabackup was killed
        log.warning("backup abandoned by its client: %s", e)
        return
    if not started:
        begin()
    write(b"0\r\n\r\n")
