"""Sandbox workflows: bring a whole local cluster up, start a member and wait for it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from galera.controller import waiting
from galera.errors import GaleraError
from galera.platforms.sandbox import ARBITRATOR, Sandbox

log = logging.getLogger("galera.sandbox")


def up(
    root: Path,
    nodes: int = 3,
    netns: bool = False,
    arbitrator: bool = False,
    base_port: int = 23300,
    timeout: float = 180.0,
    progress: Callable[[str], None] = lambda _m: None,
) -> Sandbox:
    """Create and start a sandbox; returns once every member is Synced.

    The first member starts as a new cluster, the others join in parallel. If anything fails
    after processes were started, everything started is stopped again (the directory is
    kept for its logs).
    """
    sandbox = Sandbox.prepare(root, nodes, netns=netns, arbitrator=arbitrator, base_port=base_port)
    try:
        sandbox.create_network()
        progress("seeding galera-0 (one initialisation shared by all members)")
        sandbox.seed()
        first, *rest = [m.name for m in sandbox.data_members]
        spec = sandbox.spec()
        progress(f"starting {first} as the first member of a new cluster")
        sandbox.launch_agent(first, "new-cluster")
        waiting.wait_for(
            spec,
            [first],
            timeout=timeout,
            what=f"{first} Synced",
            on_poll=lambda _s: sandbox.check_agents([first]),
        )
        for name in rest:
            progress(f"starting {name} (join)")
            sandbox.launch_agent(name, "join")
        if arbitrator:
            progress("starting garbd (arbitrator)")
            sandbox.launch_arbitrator()
        waiting.wait_for(
            spec,
            [first, *rest],
            timeout=timeout,
            what="all members Synced",
            on_poll=lambda _s: sandbox.check_agents([first, *rest]),
        )
        if arbitrator:
            _wait_for_arbitrator(sandbox, timeout)
    except (GaleraError, KeyboardInterrupt):
        log.error("sandbox up failed; stopping what was started (logs kept in %s)", root)
        sandbox.down(purge=False)
        raise
    return sandbox


def _wait_for_arbitrator(sandbox: Sandbox, timeout: float) -> None:
    first = sandbox.data_members[0].name
    waiting.wait_for(
        sandbox.spec(),
        [first],
        timeout=timeout,
        what="garbd in the component",
        condition=waiting.in_component(ARBITRATOR),
    )


def start_member(sandbox: Sandbox, name: str, wait: bool = True, timeout: float = 180.0) -> None:
    """Start ``name`` in join mode and, by default, wait until it is Synced."""
    sandbox.start(name)
    if not wait:
        return
    spec = sandbox.spec()
    if name == ARBITRATOR:
        _wait_for_arbitrator(sandbox, timeout)
    else:
        waiting.wait_for(spec, [name], timeout=timeout, what=f"{name} Synced")
