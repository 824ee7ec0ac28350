"""Supervision of the member's ``mariadbd`` child: start, stop, kill, restart policy.

The supervisor never decides on its own to form a new cluster: ``new-cluster`` mode is used
only when a caller asks for it explicitly, and every automatic restart is a *join*. What a
start that forms a cluster must prove first is in :mod:`galera.agent.starts`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from galera import proc
from galera.agent import mariadbd, starts
from galera.agent.datadir import DataDir
from galera.agent.joinwatch import JoinWatch
from galera.agent.savedview import SavedView
from galera.config.agent import RUN_MODES, AgentConfig
from galera.domain import options
from galera.domain.position import Position
from galera.errors import GaleraError, InvalidInput, OperationFailed, UnsafeOperation
from galera.render import MemberConfig

log = logging.getLogger("galera.agent")
T = TypeVar("T")

FAILED_JOIN_STOP = 10.0  # seconds a joiner Galera asked to restart gets to exit by itself
# How long a drain holds when nothing follows it up (a rollout stops or restarts the member
# within seconds; a rollout that died must not keep the member out of service).
DRAIN_SECONDS = 300.0

SIGNALS = {name: signal.Signals[f"SIG{name}"] for name in ("KILL", "TERM", "STOP", "CONT")}


class ProcessState(str, enum.Enum):
    STOPPED = "stopped"  # not running, and not supposed to run
    RUNNING = "running"  # child process alive
    STOPPING = "stopping"  # graceful stop in progress
    BACKOFF = "backoff"  # exited unexpectedly; a join restart is scheduled
    RECOVERING = "recovering"  # mariadbd --wsrep-recover is running


@dataclass
class _Exit:
    code: int | None
    at: float
    expected: bool

    def summary(self) -> dict[str, object]:
        ago = round(time.monotonic() - self.at, 1)
        return {"code": self.code, "expected": self.expected, "ago_s": ago}


class Supervisor:
    """Owns one ``mariadbd`` child. Thread-safe; a background thread applies the policy."""

    def __init__(self, config: AgentConfig, backoff_cap: float = 30.0) -> None:
        self.config = config
        self._lock = threading.RLock()
        self._child: subprocess.Popen[bytes] | None = None
        self._mode: str | None = None
        self._want_running = False
        self._stopping = False
        self._started_at = 0.0
        self._restarts = 0
        self._backoff = 1.0
        self._backoff_cap = backoff_cap
        self._next_restart = 0.0
        self._last_exit: _Exit | None = None
        self._halt = threading.Event()
        self._recovering = False
        self._drained_until = 0.0  # readiness false until then (a rollout's drain)
        self._recovered: Position | None = None
        self._join: JoinWatch | None = None
        self._restart_asked: float | None = None  # when a Galera-requested restart began
        self._donors: tuple[str, ...] = ()  # preferred state-transfer donors of joins
        self.data = DataDir(Path(config.server.datadir), config.rundir, config.name)
        self._view = SavedView(self.data.datadir)
        self.heartbeat = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="supervisor", daemon=True)

    def run_in_background(self) -> None:
        self._thread.start()

    def shutdown(self) -> None:
        """Stop the child gracefully and end the policy thread (agent exit)."""
        self.stop()
        self._halt.set()

    # -- commands ---------------------------------------------------------------------

    def start(self, mode: str = "join", donors: tuple[str, ...] = ()) -> dict[str, object]:
        """Start mariadbd; refused if already running.

        ``join`` joins the existing cluster (a state transfer from ``donors`` first).
        ``bootstrap`` forms a new cluster and needs the one-shot mark ``galeractl bootstrap``
        sets for the member's confirmed position (consumed here). ``initialize`` forms a
        brand-new cluster from an empty data directory. ``new-cluster`` forms one without a
        mark where that cannot split a history (:mod:`galera.domain.newcluster`). A refused
        start changes nothing.
        """
        if mode not in RUN_MODES:
            raise InvalidInput(f"mode {mode!r} is not one of {', '.join(RUN_MODES)}")
        with self._lock:
            if self._recovering:
                raise UnsafeOperation("a --wsrep-recover is in progress", member=self.config.name)
            self._notice_exit()
            if self._alive():
                pid = self._child.pid if self._child else "?"
                raise UnsafeOperation(
                    f"mariadbd is already running (pid {pid})", member=self.config.name
                )
            self._check_grastate()
            arguments = starts.prepare(mode, self.config, self.data, self._recovered)
            self._donors = starts.donors(donors)
            self._want_running = True
            self._restarts = 0
            self._backoff = 1.0
            self._drained_until = 0.0
            self._spawn("join" if mode == "join" else "new-cluster", arguments)
            self._recovered = None
            return self.state()

    def recover(self) -> Position:
        """Run ``mariadbd --wsrep-recover``; the recovered position. Refused while mariadbd
        runs; the restart policy waits meanwhile, and what the member was asked to be stays as
        it was: looking (a dry run, a refused decision) never holds a crashed member down."""
        with self._lock:
            self._stopped_for("recovery needs it stopped")
            self._check_grastate()
            self._recovering = True
            mariadbd.write_config(self.config, self.server_config())
        try:
            position = self.data.recover(self.config.mariadbd, self.config.config_file)
        finally:
            with self._lock:
                self._recovering = False
        log.info("recovered position %s", position)
        self._recovered = position
        return position

    def discard(self) -> Position | None:
        """Mark the data as replaceable (see ``DataDir.discard_position``): only while the
        server is stopped, on a person's word (``rejoin --discard``, a forced bootstrap)."""
        why = "only a stopped member's data can be discarded"
        position = self.while_stopped(why, self.data.discard_position)
        log.warning("position %s discarded: the next join is a full SST", position)
        return position

    def while_stopped(self, what: str, action: Callable[[], T]) -> T:
        """``action`` (a change of the data) under the lock, refused while the server runs
        or recovers (``what``: why it must be stopped); a recovered position is void after."""
        with self._lock:
            self._stopped_for(what)
            self._recovered = None
            return action()

    def _stopped_for(self, what: str) -> None:  # the caller holds the lock
        self._notice_exit()
        if self._alive() or self._recovering:
            raise UnsafeOperation(f"mariadbd is running; {what}", member=self.config.name)

    def _current_position(self) -> Position | None:
        return self.data.position(self._recovered)

    def stop(self, timeout: float | None = None) -> dict[str, object]:
        """Stop mariadbd with SIGTERM (a clean Galera leave), SIGKILL after ``timeout``."""
        timeout = self.config.stop_timeout if timeout is None else timeout
        with self._lock:
            self._want_running = False
            child = self._child
            if child is None or child.poll() is not None:
                return self.state()
            self._stopping = True
            log.info("stopping mariadbd (pid %d) gracefully", child.pid)
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("mariadbd did not stop within %.0fs; killing it", timeout)
            with contextlib.suppress(ProcessLookupError):
                child.kill()
            child.wait()
        with self._lock:
            self._record_exit(expected=True)
            self._stopping = False
        return self.state()

    def kill(self, signame: str = "KILL") -> dict[str, object]:
        """Fault injection: send ``signame`` to mariadbd and hold it down (no restart)."""
        sig = SIGNALS.get(signame.upper().removeprefix("SIG"))
        if sig is None:
            raise InvalidInput(f"signal {signame!r} is not one of {', '.join(SIGNALS)}")
        with self._lock:
            if not self._alive() or self._child is None:
                raise OperationFailed("mariadbd is not running", member=self.config.name)
            if sig in (signal.SIGKILL, signal.SIGTERM):
                self._want_running = False
            log.warning(
                "sending SIG%s to mariadbd (pid %d) on request", signame.upper(), self._child.pid
            )
            self._child.send_signal(sig)
        if sig in (signal.SIGKILL, signal.SIGTERM):
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._child.wait(self.config.stop_timeout)
            with self._lock:
                self._record_exit(expected=True)
        return self.state()

    # -- state ------------------------------------------------------------------------

    def state(self) -> dict[str, object]:
        with self._lock:
            child = self._child
            alive = self._alive()
            if self._recovering:
                state = ProcessState.RECOVERING
            elif self._stopping:
                state = ProcessState.STOPPING
            elif alive:
                state = ProcessState.RUNNING
            elif self._want_running:
                state = ProcessState.BACKOFF
            else:
                state = ProcessState.STOPPED
            joining, touched = None, False
            if alive and self._mode == "join" and self._join is not None:
                joining = self._join.untouched_at()
                touched = self._join.received
            return {
                "state": state.value,
                "pid": child.pid if alive and child else None,
                "mode": self._mode if alive else None,
                "desired": "running" if self._want_running else "stopped",
                "restart_policy": self.config.restart,
                "restarts": self._restarts,
                "uptime_s": round(time.monotonic() - self._started_at, 1) if alive else None,
                "last_exit": self._last_exit.summary() if self._last_exit else None,
                "recovered": str(self._recovered) if self._recovered else None,
                "bootstrap_mark": self.data.mark(),
                "sst_interrupted": self.data.sst_interrupted,
                "joining_from": str(joining) if joining else None,
                # The join began receiving a state transfer (or its log could not be
                # followed): its data may have changed since it started.
                "join_touched": touched,
                "draining": self.draining,
            }

    @property
    def recovering(self) -> bool:
        """A ``--wsrep-recover`` runs (read without the lock: probes must never wait)."""
        return self._recovering

    @property
    def running(self) -> bool:
        """mariadbd is alive (lock-free: probes must not wait behind a slow start)."""
        return self._alive()

    def stopped_for(self) -> float | None:
        """Seconds since mariadbd exited, while it is down and this agent saw it exit."""
        last = self._last_exit
        return None if last is None or self._alive() else round(time.monotonic() - last.at, 1)

    # -- internals --------------------------------------------------------------------

    def _alive(self) -> bool:
        return self._child is not None and self._child.poll() is None

    def server_config(self, extra: dict[str, str] | None = None) -> MemberConfig:
        """The member's configuration with the persisted overrides (and ``extra``) applied."""
        persisted, refused = options.accepted(self.data.overrides())
        for why in refused:
            log.warning("ignoring a persisted option override: %s", why)
        merged = options.merged(self.config.server.extra, persisted, extra or {})
        return dataclasses.replace(
            self.config.server, extra=merged, secure_file_priv=str(mariadbd.files_dir(self.config))
        )

    def validate(self, extra: dict[str, str]) -> None:
        """mariadbd's own check of the configuration with ``extra`` applied."""
        mariadbd.validate(self.config, self.server_config(extra))

    def set_overrides(self, extra: dict[str, str]) -> dict[str, str]:
        """Validate, then persist option overrides; they apply at the next start."""
        self.validate(extra)
        merged = options.merged(options.accepted(self.data.overrides())[0], extra)
        self.data.set_overrides(merged)
        return merged

    def drain(self, seconds: float = DRAIN_SECONDS) -> None:
        """Readiness turns false (load balancers stop routing here) until the next start,
        an undrain, or ``seconds`` from now: a drain nobody follows up (the rollout that
        asked for it died) never keeps a member out of service for good."""
        self._drained_until = time.monotonic() + seconds

    def undrain(self) -> None:
        self._drained_until = 0.0

    @property
    def draining(self) -> bool:
        return time.monotonic() < self._drained_until

    def _check_grastate(self) -> None:
        """Refuse to start on a corrupt ``grastate.dat``: Galera would discard it and ask for
        a full SST, wiping the data and the evidence of its position; a person must look."""
        self.data.grastate()

    def _spawn(self, mode: str, arguments: list[str] | None = None) -> None:
        """Start mariadbd: ``arguments`` of a start that forms a cluster, None for a join."""
        self._check_grastate()
        for removed in self.data.clean_stale_sst():
            log.warning("removed stale %s", removed)
        mariadbd.write_config(self.config, self.server_config())
        cmd = [self.config.mariadbd, f"--defaults-file={self.config.config_file}"]
        if mode == "new-cluster":
            if mariadbd.install_system_tables(self.config) and self.config.init_file is not None:
                cmd.append(f"--init-file={self.config.init_file}")
            cmd.append("--wsrep-new-cluster")
        cmd += self._start_position() if arguments is None else arguments
        cmd += starts.donor_option(self._donors) if mode == "join" else []
        if not self._want_running:
            raise UnsafeOperation(
                "a stop came while the position was recovered: not started",
                member=self.config.name,
            )
        self._view.before_start(joining=mode == "join")
        # Where a joiner starts from (unknown after an interrupted state transfer).
        started_from = (
            self._current_position() if mode == "join" and not self.data.sst_interrupted else None
        )
        log_error = Path(self.config.server.log_error)
        watch = JoinWatch(log_error, started_from, not self._view.unheld)  # before it logs
        out = open(self.config.rundir / "mariadbd.out", "ab")  # noqa: SIM115
        try:
            self._child = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as e:
            raise OperationFailed(
                f"cannot start {self.config.mariadbd}: {e.strerror}", member=self.config.name
            ) from None
        finally:
            out.close()
        self._mode = mode
        self._join = watch
        self._restart_asked = None
        self._recovered = None
        self._started_at = time.monotonic()
        log.info("started mariadbd (pid %d) in %s mode", self._child.pid, mode)

    def _start_position(self) -> list[str]:
        """After a crash, recover the position first so the join can be an IST, not an SST.

        This is what ``galera_recovery`` does for the systemd unit: without it a member whose
        ``grastate.dat`` says seqno -1 asks the cluster for a full state transfer.
        """
        state = self.data.grastate()
        if state is None or not state.needs_recovery or self.data.sst_interrupted:
            return []
        position = self._recovered
        if position is None or position.uuid != state.uuid:
            position = self._recover_unlocked()
            if position is None:
                return []
            self._recovered = position
        log.info("joining from recovered position %s", position)
        return [f"--wsrep-start-position={position}"]

    def _recover_unlocked(self) -> Position | None:
        """``--wsrep-recover`` before a join, the lock (held once, by a start or the restart
        policy) released meanwhile: status reads and stops are answered while it runs, and
        every other start, recovery or discard is refused. None when it failed."""
        self._recovering = True
        self._lock.release()
        try:
            return self.data.recover(self.config.mariadbd, self.config.config_file)
        except GaleraError as e:
            log.warning("position recovery failed, joining without it: %s", e)
            return None
        finally:
            self._lock.acquire()
            self._recovering = False

    def _record_exit(self, expected: bool) -> None:
        if self._child is None or self._child.poll() is None:
            return
        if self._last_exit is None or self._last_exit.at < self._started_at:
            self._last_exit = _Exit(self._child.returncode, time.monotonic(), expected)
            self._after_exit()  # once per exit

    def _notice_exit(self) -> None:
        """An exit the policy thread has not seen yet is recorded (and cleaned up after)
        before anything replaces the child."""
        if self._child is not None and not self._alive():
            self._record_exit(expected=not self._want_running)

    def _after_exit(self) -> None:
        """mariadbd is gone: nothing it started may outlive it. An SST script left running
        (a joiner's listener, when mariadbd was killed) makes the next start fail with
        "previous SST script still running" or find its port taken. mariadbd leads its own
        session; its helpers stay in it even when they make process groups of their own."""
        if self._child is not None:
            leftovers = proc.kill_session(self._child.pid)
            if leftovers:
                log.warning("killed %d process(es) mariadbd left behind", len(leftovers))
        self._undo_untouched_join()

    def _undo_untouched_join(self) -> None:
        """A join attempt that ended before any donor was assigned changed nothing but the
        markers mariadbd and the SST script left (grastate.dat zeroed, ``sst_in_progress``):
        put them back, so the member reports its real position instead of an interrupted
        transfer, and the next join can be an IST."""
        if self._join is not None:
            self._join.scan()  # its last lines (Synced just before a stop) still count
            self._view.follow(self._join)
        join, self._join = self._join, None
        position = join.untouched_at() if join is not None else None
        if position is None:
            return
        self.data.restore_after_join(position)
        log.info("the join attempt received nothing: grastate.dat back at %s", position)

    def _loop(self) -> None:
        while not self._halt.wait(0.2):
            self.heartbeat = time.monotonic()
            if os.getpid() == 1:
                proc.reap_orphans(self._child.pid if self._child is not None else None)
            with self._lock:
                if self._join is not None:
                    self._join.scan()  # latch what the log shows while it is fresh
                    self._view.follow(self._join)
                    self._restart_if_asked()
                self._apply_policy()

    def _restart_if_asked(self) -> None:
        """Galera asked for a restart (a state transfer failed part-way): stop the server
        (SIGTERM, SIGKILL after at most ``FAILED_JOIN_STOP`` seconds); the restart policy
        starts it again. Such a server often hangs while it disconnects (seen for a whole
        ``stop_timeout`` after "IST didn't contain all write sets"), and as a joiner it
        has committed nothing the cluster lacks: InnoDB's crash recovery and the next
        join's recovered position lose nothing."""
        join, child = self._join, self._child
        if join is None or child is None or not join.restart_required or not self._alive():
            return
        if self._stopping or not self._want_running or self.config.restart == "never":
            return
        now = time.monotonic()
        if self._restart_asked is None:
            log.warning("Galera asks for a restart (a state transfer failed): restarting mariadbd")
            self._restart_asked = now
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGTERM)
        elif now - self._restart_asked > min(self.config.stop_timeout, FAILED_JOIN_STOP):
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGKILL)

    def _apply_policy(self) -> None:
        if self._child is None or self._stopping or self._recovering or self._alive():
            return
        now = time.monotonic()
        if self._last_exit is None or self._last_exit.at < self._started_at:
            code = self._child.returncode
            log.warning("mariadbd (pid %d) exited with code %s", self._child.pid, code)
            self._last_exit = _Exit(code, now, expected=not self._want_running)
            self._after_exit()
            if now - self._started_at > 60:
                self._backoff = 1.0
            self._next_restart = now + self._backoff
            self._backoff = min(self._backoff * 2, self._backoff_cap)
        if not self._want_running:
            return
        policy = self.config.restart
        code = self._last_exit.code
        if policy == "never" or (policy == "on-failure" and code == 0):
            self._want_running = False
            return
        if now >= self._next_restart:
            self._restarts += 1
            log.info("restarting mariadbd in join mode (restart %d)", self._restarts)
            try:
                self._spawn("join")  # never new-cluster: only a caller may ask for that
            except GaleraError as e:
                log.error("%s", e)
                self._next_restart = now + self._backoff
