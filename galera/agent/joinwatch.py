"""Whether a server started in join mode has received anything yet, read from its error log.

A joiner asks the Primary component for a state transfer. Until a donor is assigned to it
("Requesting state transfer: success") nothing can arrive: InnoDB is not even started, the
data directory is still exactly what it was when the server started, at that position. If
the Primary component goes away first, the joiner keeps running and asks again every
second ("Requesting state transfer failed: Not in primary component"), forever; one that
never reached a Primary component at all waits in a non-Primary one ("New COMPONENT:
primary = no", or before that, while its peers refuse connections, "No nodes coming from
primary view" and a ``NON_PRIM`` view, until ``pc.wait_prim_timeout`` ends it) and cannot
have asked for anything. Such a join attempt can be reported at
its start position and, once stopped, undone exactly.

The log is the only evidence, so the watch fails safe: it reports an untouched join only
after seeing one of those lines, and never once it saw a donor assigned, a shift to JOINED,
SYNCED or DONOR, or could not follow the log (missing, replaced, truncated). The
supervisor reads it on every turn of its loop, so what it saw is latched early.

The same log says when a state transfer failed part-way ("Receiving IST failed, node
restart required"): Galera then leaves the server running, disconnected, for good. The
supervisor restarts it, as a DBA would; the next join asks for a transfer from what it
applied.

Once the member is Synced the watch follows one thing more, for as long as the server runs:
whether the member holds the state of the component it is in (:attr:`JoinWatch.holds_state`:
Synced, until it needs a state transfer again after a partition), which decides whether a
Primary view it saves may be re-formed by ``pc.recovery`` (see
:meth:`galera.agent.datadir.DataDir.forget_unheld_view`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from galera.domain.position import Position

_RECEIVING = re.compile(
    rb"WSREP: (?:Requesting state transfer: success"
    rb"|Shifting [A-Z/]+ -> (?:JOINED|SYNCED|DONOR/DESYNCED))"
)
_WAITING = re.compile(
    rb"WSREP: (?:Requesting state transfer failed: Not in primary component"
    rb"|New COMPONENT: primary = no"
    rb"|No nodes coming from primary view|view\(view_id\(NON_PRIM)"
)
# A state transfer failed part-way; Galera leaves the server running, disconnected, until
# someone restarts it ("Receiving IST failed, node restart required: ...").
_RESTART = re.compile(rb"WSREP: .*node restart required")
_SYNCED = re.compile(rb"WSREP: Shifting [A-Z/]+ -> SYNCED")
# Synced (group 1), or needing a state transfer again (a merge after a partition).
_HOLDS = re.compile(rb"WSREP: (?:Shifting [A-Z/]+ -> (SYNCED)|State transfer required)")
_CHUNK = 1 << 20  # read at most this much of the log at a time: bounded memory


class JoinWatch:
    """Follows one join-mode start of mariadbd. Not thread-safe: callers hold a lock."""

    def __init__(
        self, log_path: Path, position: Position | None, holds_state: bool = False
    ) -> None:
        self.path = log_path
        self.position = position
        self.received = False
        self.waiting = False
        self.restart_required = False
        self.synced = False  # the join is over: only holds_state is followed from then on
        self.holds_state = holds_state  # Synced (or formed the cluster), not joining again
        self._identity = self._stat()
        self._offset = self._identity[2] if self._identity else 0
        self._tail = b""
        if self._identity is None or not log_path.is_absolute():
            self.received = True  # a log we cannot follow proves nothing

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_dev, st.st_ino, st.st_size

    def untouched_at(self) -> Position | None:
        """The position the data is still at: only while the log shows the joiner waiting
        for a Primary component and nothing that could have reached the data."""
        self.scan()
        if self.received or not self.waiting or self.position is None:
            return None
        return self.position

    def scan(self) -> None:
        """Read what the log gained since the last look (cheap when nothing did)."""
        if self.restart_required:
            return
        identity = self._stat()
        if self._identity is None and identity is not None and self.path.is_absolute():
            self._identity = identity  # a log this run created: all of it is new (from 0)
        if (
            identity is None
            or self._identity is None
            or identity[:2] != self._identity[:2]
            or identity[2] < self._offset
        ):
            self.received = True  # rotated, replaced or truncated: we may have missed lines
            self._identity, self._offset, self._tail = identity, identity[2] if identity else 0, b""
            return
        size = identity[2]
        while self._offset < size:
            try:
                with open(self.path, "rb") as f:
                    f.seek(self._offset)
                    chunk = f.read(min(_CHUNK, size - self._offset))
            except OSError:
                self.received = True
                return
            if not chunk:
                return
            self._offset += len(chunk)
            text = self._tail + chunk
            if not self.synced:
                self.received = self.received or _RECEIVING.search(text) is not None
                self.waiting = self.waiting or _WAITING.search(text) is not None
                self.restart_required = self.restart_required or bool(_RESTART.search(text))
                self.synced = bool(_SYNCED.search(text))
            for found in _HOLDS.finditer(text):  # the last one says
                self.holds_state = found.group(1) is not None
            self._tail = text[-200:]  # a line split between two reads is still found
