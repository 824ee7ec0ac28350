"""One actor at a time: the lease a controller or a person's command acts under.

:class:`Keeper` takes the platform's lease, renews it in the background, and is the
process's :class:`galera.fence.Fence`: before every change (an agent asked to start, stop,
recover, mark, drain or discard; a record written; a pod deleted; an object applied) it
renews the lease (so that a lease taken over is noticed before the change, not at the next
background renewal) and raises :class:`~galera.errors.LeaseLost` unless it is still held,
and granted by that member's agent where agents grant it: a step is never taken after the
lease is gone.

A controller waits for the lease (:func:`lead`); a person's command takes it for its run
(:func:`taken`) and is refused while another actor holds it, unless ``--force``.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from galera import fence
from galera.domain import events
from galera.domain.events import Kind
from galera.errors import GaleraError, LeaseLost, UnsafeOperation
from galera.platforms.base import Emit, Platform

log = logging.getLogger("galera.controller")

COMMAND_LEASE = 15  # a person's command holds the lease for this long between renewals


class Keeper:
    """Holds the lease for this process; every renewal and confirmation under one lock.

    A controller's keeper takes the lease before it acts (:func:`lead`, each cycle's
    renewal); a command's keeper takes it at the command's first change (``force``: from
    whoever holds it), so that bad input, a refused plan or an unanswered prompt never
    touch it. Held by another, it is asked for again for one command term (a command that
    was killed holds it that long at most); an actor that keeps renewing it keeps it."""

    def __init__(
        self, platform: Platform, duration: int, force: bool = False, emit: Emit | None = None
    ) -> None:
        self.platform = platform
        self.duration = duration
        self.force = force
        self.emit = emit
        self.held = False
        self.taken = False  # held at some point: losing it now means another took it
        self.holder_now = ""  # who holds it, as last seen
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease", daemon=True)
        self._thread.start()

    @property
    def holder(self) -> str:
        return self.platform.identity

    @property
    def named_to_agents(self) -> bool:
        return self.platform.agents_grant_lease

    def renew(self) -> tuple[bool, str]:
        with self._lock:
            return self._renew()

    def _renew(self, member: str | None = None) -> tuple[bool, str]:
        try:
            force = self.force and not self.taken  # forced once: never taken back by force
            self.held, self.holder_now = self.platform.acquire_lease(self.duration, force, member)
        except GaleraError:
            self.held = False
            raise
        if self.held and force:
            log.warning("took the cluster's lease (--force)")
        self.taken = self.taken or self.held
        return self.held, self.holder_now

    def confirm(self, member: str | None = None) -> None:
        what = member or "the cluster"
        with self._lock:
            first = not self.taken
            try:
                self._renew(member)
            except GaleraError as e:
                raise LeaseLost(
                    f"cannot confirm the lease ({e}): stopping before changing {what}"
                ) from None
            if not self.held and first:
                self._outwait(
                    f"{self.holder_now} holds the cluster's lease",
                    what,
                    lambda: self._renew()[0],
                    holder=self.holder_now,
                )
            if not self.held and first:
                raise UnsafeOperation(
                    f"{self.holder_now} holds the cluster's lease: one actor at a time "
                    "changes a cluster",
                    hint="stop that controller or wait for that command; --force takes the "
                    "lease from it (it stops before its next change)",
                )
            if not self.held:
                raise LeaseLost(
                    f"{self.holder_now} holds the cluster's lease now: "
                    f"stopping before changing {what}"
                )
            if self.held and not self.platform.lease_reaches(member):
                # The majority granted it, this member's agent not yet: its share may still
                # belong to an actor that was killed (it ends within that actor's term).
                self._outwait(
                    f"{what}'s agent has not granted this actor its share of the lease",
                    what,
                    lambda: self._renew(member)[0] and self._reaches(member),
                )
            if not self.platform.lease_reaches(member):
                raise LeaseLost(
                    f"{what}'s agent has not granted this actor the lease: not changing it"
                )

    def _reaches(self, member: str | None) -> bool:
        return self.platform.lease_reaches(member)

    def _outwait(self, why: str, what: str, got: Callable[[], bool], holder: str = "") -> None:
        """The lease (or ``what``'s share of it) is held by another actor: it may be a
        command that was killed (its lease ends within one of its terms), or a live actor
        that renews it. Ask again (``got``) for that long, then give up."""
        limit = self.duration + 2
        reason = f"{why}; waiting up to {limit}s for it to end before changing {what}"
        if self.emit is not None:
            self.emit(events.of(Kind.WAITING, reason=reason, holder=holder))
        else:
            log.warning("%s", reason)
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            time.sleep(1.0)
            with contextlib.suppress(GaleraError):
                if got():
                    return

    def _run(self) -> None:
        while not self._stop.wait(self.duration / 3):
            if self.held:
                try:
                    self.renew()
                except GaleraError as e:
                    log.warning("could not renew the lease: %s", e)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def lease_seconds(interval: float) -> int:
    return max(15, int(interval * 3))


def lead(platform: Platform, interval: float, emit: Emit) -> None:
    """Block until this controller holds the cluster's lease (standbys wait here)."""
    announced = ""
    while True:
        held, holder = platform.acquire_lease(duration=lease_seconds(interval))
        if held:
            return
        announced = stand_by(holder, announced, emit)
        time.sleep(interval)


def stand_by(holder: str, announced: str, emit: Emit) -> str:
    """Say once per holder that this controller stands by; the sentence now announced."""
    reason = f"{holder} holds the lease; standing by"
    if reason != announced:
        log.info("%s", reason)
        emit(events.of(Kind.STANDBY, holder=holder, reason=reason))
    return reason


def command_identity(command: str) -> str:
    """A person's command as the lease records it: who, where, which process."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"galeractl {command} by {user}@{socket.gethostname()} (pid {os.getpid()})"


@contextmanager
def taken(
    platform: Platform, command: str, force: bool = False, emit: Emit | None = None
) -> Iterator[Keeper]:
    """A person's command acts under the lease for its run, from its first change, then
    gives it back. That change is refused, and nothing else is, while another actor (a
    controller, another command) holds the lease, unless ``force``: the other then stops
    before its next change."""
    platform.identity = command_identity(command)
    keeper = Keeper(platform, COMMAND_LEASE, force, emit)
    try:
        with fence.acting(keeper):
            yield keeper
    finally:
        keeper.stop()
        if keeper.held:
            platform.release_lease()
