"""Process helpers shared by the agent, the platforms and the long-running commands:
liveness of a pid, and stopping on SIGTERM/SIGINT without doing anything in a handler."""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger("galera")


def alive(pid: int | None) -> bool:
    """True when ``pid`` names a running (non-zombie) process, whoever owns it."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by another user
    except (OverflowError, ValueError):
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def kill_session(sid: int, sig: int = signal.SIGKILL) -> list[int]:
    """Send ``sig`` to every process of session ``sid`` (a child started with
    ``start_new_session``, and whatever it left behind, even in process groups of their own,
    like ``timeout`` does). Returns the pids signalled."""
    hit = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # After the command: state, ppid, pgrp, session.
        if len(fields) > 3 and fields[3] == str(sid) and int(entry.name) != os.getpid():
            try:
                os.kill(int(entry.name), sig)
                hit.append(int(entry.name))
            except (ProcessLookupError, PermissionError):
                pass
    return hit


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Shutdown:
    """SIGTERM and SIGINT turned into an :class:`threading.Event`, safely, any number of times.

    A Python signal handler runs in the main thread between two bytecodes, possibly in the
    middle of another handler: one that takes a lock (``Event.set``, logging) can wait
    forever for a lock its own interrupted frame holds. So the handler installed here does
    nothing at all; the interpreter's C-level handler writes the signal number to a pipe
    (:func:`signal.set_wakeup_fd`), and a thread reading that pipe sets :attr:`event` and
    runs ``on_stop`` once, outside any handler. Further signals are ignored.

    With ``interrupt=True`` the first signal also raises :class:`SystemExit` in the main
    thread (from a handler that only flips a flag), so that a command busy in a long step
    unwinds through its ``finally`` blocks (the controller releases its Lease); a second
    signal never interrupts that cleanup.

    Install from the main thread, once per process.
    """

    def __init__(
        self,
        on_stop: Callable[[int], None] | None = None,
        interrupt: bool = False,
        signals: Iterable[signal.Signals] = STOP_SIGNALS,
    ) -> None:
        self.event = threading.Event()
        self.signum: int | None = None
        self.on_stop = on_stop
        self.interrupt = interrupt
        self.signals = tuple(signals)
        self._raised = False
        self._thread: threading.Thread | None = None

    def install(self) -> Shutdown:
        read, write = os.pipe()
        os.set_blocking(write, False)
        signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        for signum in self.signals:
            signal.signal(signum, self._handler)
        self._thread = threading.Thread(
            target=self._watch, args=(read,), name="signals", daemon=True
        )
        self._thread.start()
        # At exit the interpreter puts back the default action, which a late signal would
        # turn into death by that signal after a clean stop: ignore them from then on.
        atexit.register(self._ignore_late)
        return self

    def _ignore_late(self) -> None:
        for signum in self.signals:
            signal.signal(signum, signal.SIG_IGN)

    def _handler(self, signum: int, _frame: Any) -> None:
        # Nothing here may block or take a lock: only a flag, and at most one exception.
        if self.interrupt and not self._raised:
            self._raised = True
            raise SystemExit(0)  # stopped as asked

    def _watch(self, read: int) -> None:
        wanted = {int(s) for s in self.signals}
        while True:
            try:
                data = os.read(read, 64)
            except InterruptedError:
                continue
            except OSError:
                return
            if not data:
                return
            got = next((b for b in data if b in wanted), None)
            if got is None or self.event.is_set():
                continue
            self.signum = got
            self.event.set()
            if self.on_stop is not None:
                try:
                    self.on_stop(got)
                except Exception:  # the thread must survive to ignore later signals
                    log.exception("stopping on signal %d failed", got)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a stop signal arrived (or ``timeout``); True when one did."""
        return self.event.wait(timeout)


def reap_orphans(keep: int | None) -> None:
    """As PID 1 in a container, reap exited grandchildren (SST helpers), never ``keep``
    (our own child, which its Popen waits for)."""
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if info is None or info.si_pid == 0 or info.si_pid == keep:
            return
        with contextlib.suppress(ChildProcessError):
            os.waitpid(info.si_pid, os.WNOHANG)
