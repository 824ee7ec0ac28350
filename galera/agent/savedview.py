"""Which Primary view a member may re-form by itself (``pc.recovery``): only one it held the
state of.

A joiner is a member of the Primary component before it holds the component's state. When
its donor leaves cleanly, Galera leaves it alone in a Primary view and saves that view
(``gvwstate.dat``), though quorum says non-Primary: nobody there has the state. Started
again, ``pc.recovery`` restores the view, finds every member it names (itself) and forms a
Primary component at the joiner's old position, beside the real one; Galera then aborts the
other side ("conflicting prims: older overrides") and its newer transactions are lost
(seen: a rejoin outrun by a full outage, then a bootstrap that started the joiner again).

So a mark in the data directory (:data:`~galera.domain.grastate.JOIN_UNFINISHED`) says
"this member does not hold its component's state": set at every join-mode start, again when
a full transfer's emptying of the directory took it or a merge after a partition needs a
transfer, removed once the member is Synced or forms the cluster itself. A start that finds
it (or an interrupted transfer, ``sst_in_progress``) removes the saved view first; the
member then joins whatever Primary component runs, and if none does, a bootstrap of the
most advanced member forms one. The mark outlives the agent (a container restart).
"""

from __future__ import annotations

import logging
from pathlib import Path

from galera.agent.datadir import sync_directory
from galera.agent.joinwatch import JoinWatch
from galera.domain.grastate import JOIN_UNFINISHED, SAVED_VIEW

log = logging.getLogger("galera.agent")


class SavedView:
    """The mark of one data directory. Not thread-safe: the supervisor holds its lock."""

    def __init__(self, datadir: Path) -> None:
        self.datadir = datadir
        self.mark = datadir / JOIN_UNFINISHED
        self.unheld = False  # the running server does not hold its component's state

    def before_start(self, joining: bool) -> None:
        """Remove a view the last run saved without holding the state; mark a join."""
        view = self.datadir / SAVED_VIEW
        if (self.mark.exists() or (self.datadir / "sst_in_progress").exists()) and view.exists():
            view.unlink()
            log.warning(
                "the last join never reached Synced: removed the Primary view it saved "
                "(gvwstate.dat), from which pc.recovery would form a Primary component at "
                "a position this member never held the state of"
            )
        self.unheld = joining
        if joining:
            self._set()
        else:
            self._clear()  # a start that forms the cluster holds its state

    def follow(self, watch: JoinWatch | None) -> None:
        """The mark follows what the server's log says (``watch``: its running start's)."""
        if watch is None:
            return
        if not watch.holds_state:
            self._set()  # again, should a full transfer's emptying have taken it
            self.unheld = True
        elif self.unheld:
            self._clear()
            self.unheld = False

    def _set(self) -> None:
        if self.datadir.is_dir() and not self.mark.exists():
            self.mark.write_text("a join that has not reached Synced; see galeractl's agent\n")
            sync_directory(self.datadir)

    def _clear(self) -> None:
        self.mark.unlink(missing_ok=True)
