"""Conflicts per table for the exporter, read from the members' error logs in the background.

Every ``interval`` seconds the tail of each member's error log is fetched through its agent
(token-protected: it may hold SQL text) and parsed; entries not seen before are counted per
member and table. Scrapes only read the counters, so a slow log never slows a scrape.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque

from galera.config import endpoints
from galera.config.clusterfile import ClusterSpec
from galera.domain import conflicts
from galera.errors import GaleraError

log = logging.getLogger("galera.exporter")
_REMEMBER = 100_000  # entry keys kept per member to avoid counting an entry twice


class ConflictWatcher:
    def __init__(
        self, spec: ClusterSpec, interval: float = 30.0, max_bytes: int = 1024 * 1024
    ) -> None:
        token = spec.agent_token()
        self.clients = {
            m.name: endpoints.agent(spec, m, token)
            for m in spec.members
            if m.agent and not m.arbitrator
        }
        self.interval = interval
        self.max_bytes = max_bytes
        self.counts: Counter[tuple[str, str]] = Counter()
        self._seen: dict[str, tuple[set[tuple[object, ...]], deque[tuple[object, ...]]]] = {
            name: (set(), deque()) for name in self.clients
        }
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="conflicts", daemon=True)

    def update(self, spec: ClusterSpec) -> None:
        """New agent addresses (a replaced pod): the counts and what was seen are kept."""
        token = spec.agent_token()
        for m in spec.members:
            client = self.clients.get(m.name)
            if client is not None and m.agent and client.url != m.agent.rstrip("/"):
                self.clients[m.name] = endpoints.agent(spec, m, token)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def snapshot(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self.counts)

    def poll(self) -> None:
        """One pass over every member's log (also called directly by tests)."""
        for name, client in self.clients.items():
            try:
                lines = client.log(self.max_bytes)
            except GaleraError as e:
                log.debug("conflict log of %s unavailable: %s", name, e)
                continue
            seen, order = self._seen[name]
            fresh: list[conflicts.Conflict] = []
            for entry in conflicts.parse(lines):
                if not entry.complete:
                    continue  # counted once it is complete, at the next poll
                key = (
                    entry.at,
                    entry.winner.thread,
                    entry.winner.seqno,
                    entry.victim.thread,
                    entry.victim.sql,
                )
                if key in seen:
                    continue
                seen.add(key)
                order.append(key)
                if len(order) > _REMEMBER:
                    seen.discard(order.popleft())
                fresh.append(entry)
            with self._lock:
                for entry in fresh:
                    for table in entry.tables or ["(unknown)"]:
                        self.counts[(name, table)] += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(self.interval)
