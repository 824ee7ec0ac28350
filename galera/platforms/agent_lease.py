"""The cluster's lease where no coordination service exists (VMs, the sandbox): held while a
majority of the members' agents grant it.

Each agent grants its share to one holder at a time and ends it by its own monotonic clock
(:mod:`galera.agent.lease`). Two actors can never both hold a majority of the same agents,
so two controllers, or a controller and a person, never act at once; and an agent carries
out a change only for the holder of its share, so an actor that lost the lease while it
was paused or cut off is refused even where it did not notice.

The holder counts its lease from the moment it sent the request, the agents from the moment
they received it: the holder's view always ends first.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed

from galera.agent_client import AgentClient
from galera.config import endpoints
from galera.config.clusterfile import ClusterSpec
from galera.errors import GaleraError

ASK_TIMEOUT = 3.0  # an agent that cannot answer a lease request in this time grants nothing


class AgentLease:
    """Asks every member's agent; held with a majority of grants (or, forced, with any)."""

    def __init__(
        self, spec: Callable[[], ClusterSpec], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.spec = spec
        self.clock = clock
        self.granted: frozenset[str] = frozenset()
        self.until = 0.0

    def _clients(self) -> dict[str, AgentClient]:
        spec = self.spec()
        token = spec.agent_token()
        return {
            m.name: endpoints.agent(spec, m, token, timeout=ASK_TIMEOUT)
            for m in spec.members
            if not m.arbitrator and m.agent
        }

    def acquire(
        self, identity: str, duration: float, force: bool, member: str | None = None
    ) -> tuple[bool, str]:
        """Held with a majority of grants, or forced with any; answers from agents beyond a
        majority (and ``member``'s) are not waited for."""
        clients = self._clients()
        sent = self.clock()

        failures: dict[str, str] = {}

        def ask(client: AgentClient) -> tuple[bool, str] | None:
            try:
                return client.lease(identity, duration, force)
            except GaleraError as e:
                failures[str(client.member)] = e.message
                return None

        need = len(clients) // 2 + 1
        answers: dict[str, tuple[bool, str] | None] = {}
        pool = ThreadPoolExecutor(max_workers=max(len(clients), 1))
        try:
            asked = {pool.submit(ask, client): name for name, client in clients.items()}
            for future in as_completed(asked):
                answers[asked[future]] = future.result()
                enough = sum(1 for a in answers.values() if a and a[0]) >= need
                if enough and not force and (member is None or member in answers):
                    break  # a majority: an agent cut off does not hold up every change
        finally:
            pool.shutdown(wait=False)
        granted = frozenset(n for n, a in answers.items() if a is not None and a[0])
        if len(granted) >= need or (force and granted):
            self.granted, self.until = granted, sent + duration
            return True, identity
        self.granted, self.until = frozenset(), 0.0
        for name in granted:  # a share of a lease not held must not block the others
            _give_back(clients[name], identity)
        others = Counter(a[1] for a in answers.values() if a is not None and not a[0])
        if others:
            holder = others.most_common(1)[0][0]
            return False, holder
        silent = sorted(n for n, a in answers.items() if a is None)
        why = f": {failures[silent[0]]}" if silent else ""
        return False, (
            f"nobody: {len(granted)} of {len(clients)} agents granted the lease, "
            f"{need} are needed ({', '.join(silent)} did not answer{why})"
        )

    def release(self, identity: str) -> None:
        for client in self._clients().values():  # also a share granted after a majority
            _give_back(client, identity)
        self.granted, self.until = frozenset(), 0.0

    def reaches(self, member: str | None) -> bool:
        """Whether the lease held covers changes to ``member`` (its agent granted it)."""
        if self.clock() >= self.until:
            return False
        return member is None or member in self.granted


def _give_back(client: AgentClient, identity: str) -> None:
    with contextlib.suppress(GaleraError):  # a share not given back ends by itself
        client.release_lease(identity)
