"""Container sandbox workflows: bring a cluster of node containers up, replace a member.

A container sandbox forms its cluster the way a first installation on Kubernetes does: every
pod starts with an empty volume, its agent in join mode; ``bootstrap --initialize`` creates
the cluster on galera-0 (system tables, the users of the Secret's ``init.sql``) and the others
join it by a full state transfer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from galera.controller import sandbox as workflow
from galera.controller import waiting
from galera.errors import GaleraError
from galera.platforms.containers import IMAGE, ContainerSandbox

log = logging.getLogger("galera.sandbox")


def up(
    root: Path,
    nodes: int = 3,
    timeout: float = 300.0,
    progress: Callable[[str], None] = lambda _m: None,
    tls: bool = True,
    image: str = IMAGE,
    arbitrator: bool = False,
) -> ContainerSandbox:
    """Create and start a container sandbox; returns once every member is Synced. If
    anything fails after containers were started, they are stopped and removed again (the
    directory and the volumes are kept for a look: ``sandbox down --purge`` removes them)."""
    sandbox = ContainerSandbox.prepare(root, nodes, tls_on=tls, image=image, arbitrator=arbitrator)
    progress(f"network {sandbox.network_name} on {sandbox.state['network']['subnet']}")
    try:
        workflow._first_install(sandbox, timeout, progress)
        names = [m.name for m in sandbox.data_members]
        waiting.wait_for(
            sandbox.spec(),
            names,
            timeout=timeout,
            what="all members Synced",
            on_poll=lambda _s: sandbox.check_agents(names),
        )
        garbd = sandbox.arbitrator
        if garbd is not None:
            progress(f"starting {garbd.name} (garbd, the arbitrator Deployment's pod)")
            sandbox.create(garbd.name)
            waiting.wait_for(
                sandbox.spec(),
                names[:1],
                timeout=timeout,
                what=f"{garbd.name} in the component",
                condition=waiting.in_component(garbd.name),
                on_poll=lambda _s: sandbox.check_agents([garbd.name]),
            )
    except (GaleraError, KeyboardInterrupt):
        log.error("sandbox up failed; removing the containers (directory kept in %s)", root)
        sandbox.down(purge=False)
        raise
    return sandbox


def replace(
    sandbox: ContainerSandbox, name: str, wait: bool = True, timeout: float = 300.0
) -> None:
    """Delete ``name``'s pod, as Kubernetes does: a graceful stop, a new container on the
    same volume (its agent joins); by default wait until it is Synced again."""
    sandbox.replace(name)
    if wait:
        waiting.wait_for(
            sandbox.spec(),
            [name],
            timeout=timeout,
            what=f"{name} Synced",
            on_poll=lambda _s: sandbox.check_agents([name]),
        )
