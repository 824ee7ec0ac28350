"""Sandbox workflows: bring a whole local cluster up, start a member and wait for it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from galera import poll, sql
from galera.agent_client import AgentClient
from galera.config import endpoints
from galera.controller import backup, bootstrap, members, waiting, writer
from galera.domain import events
from galera.domain.events import Kind
from galera.domain.position import Position
from galera.errors import GaleraError
from galera.platforms.containers import ContainerSandbox
from galera.platforms.local import SandboxPlatform
from galera.platforms.netns import Network
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
    first_install: bool = False,
    tls: bool = True,
    proxy: bool = False,
    network: Network | None = None,
    from_backup: Path | None = None,
) -> Sandbox:
    """Create and start a sandbox; returns once every member is Synced. The first member
    starts as a new cluster, the others join in parallel (``first_install``: see
    :func:`_first_install`; ``from_backup``: every member seeded from that prepared backup,
    verified first). A failure stops everything started (logs kept)."""
    restored = backup.restorable(from_backup) if from_backup is not None else None
    sandbox = Sandbox.prepare(
        root, nodes, netns, arbitrator, base_port, tls=tls, network=network, proxy=proxy
    )
    try:
        sandbox.create_network()
        first, *rest = [m.name for m in sandbox.data_members]
        spec = sandbox.spec()
        if first_install:
            _first_install(sandbox, timeout, progress)
            if arbitrator:
                _start_arbitrator(sandbox, timeout, progress)
            return sandbox
        _form(sandbox, first, from_backup, restored, progress)
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
            _start_arbitrator(sandbox, None, progress)
        waiting.wait_for(
            spec,
            [first, *rest],
            timeout=timeout,
            what="all members Synced",
            on_poll=lambda _s: sandbox.check_agents([first, *rest]),
        )
        _ready_extras(sandbox, first, timeout, progress)
    except (GaleraError, KeyboardInterrupt):
        log.error("sandbox up failed; stopping what was started (logs kept in %s)", root)
        sandbox.down(purge=False)
        raise
    return sandbox


def _form(
    sandbox: Sandbox,
    first: str,
    from_backup: Path | None,
    restored: Position | None,
    progress: Callable[[str], None],
) -> None:
    """Seed the members (from a backup, or one initialisation shared by all) and start the
    first as a new cluster."""
    if from_backup is not None and restored is not None:
        progress(f"seeding every member from the backup at {restored}")
        sandbox.seed_from(from_backup, restored)
        progress(f"starting {first} at the backup's position; this sandbox's accounts")
        sandbox.launch_agent(first, "new-cluster")
        sandbox.reset_accounts()
        return
    progress("seeding galera-0 (one initialisation shared by all members)")
    sandbox.seed()
    progress(f"starting {first} as the first member of a new cluster")
    sandbox.launch_agent(first, "new-cluster")


def _ready_extras(
    sandbox: Sandbox, first: str, timeout: float, progress: Callable[[str], None]
) -> None:
    """garbd counted in the component, the proxy started: whichever the sandbox has."""
    if sandbox.state["arbitrator"]:
        _wait_for_arbitrator(sandbox, timeout)
    if sandbox.state.get("proxy"):
        _start_proxy(sandbox, first, timeout, progress)


def _start_proxy(
    sandbox: Sandbox, first: str, timeout: float, progress: Callable[[str], None]
) -> None:
    """HAProxy in front of the members, and the first member designated as the writer;
    returns once the proxy's writer frontend reaches it."""
    progress(f"starting HAProxy; {first} takes writes")
    sandbox.launch_proxy()
    writer.switchover(SandboxPlatform(sandbox.cluster_file), first, lambda _e: None)
    spec = sandbox.spec()
    endpoint = endpoints.of_proxy(spec, "writer")

    def through() -> bool | None:
        try:
            sql.execute(endpoint, spec.credentials(), ["SELECT 1"])
        except GaleraError:
            return None
        return True

    poll.until(through, timeout=timeout, interval=0.3, what="the proxy's writer frontend")


def _first_install(
    sandbox: Sandbox | ContainerSandbox, timeout: float, progress: Callable[[str], None]
) -> None:
    """Every member starts empty in join mode and finds nobody; ``bootstrap --initialize``
    then creates the cluster on the first member (system tables, the users of its
    ``init_file``) and the others join it by full SST: the Kubernetes first installation."""
    names = [m.name for m in sandbox.data_members]
    for name in names:
        progress(f"starting {name} empty, in join mode")
        sandbox.launch_agent(name, "join")
    spec = sandbox.spec()
    clients = members.agents(spec)
    for name, client in clients.items():

        def answers(name: str = name, client: AgentClient = client) -> bool | None:
            try:
                client.live()
            except GaleraError:
                sandbox.check_agents([name])  # an agent that died is reported at once
                return None
            return True

        poll.until(answers, timeout=timeout, interval=0.2, what=f"{name}'s agent", member=name)
    progress("every member is empty: bootstrap --initialize")

    def report(event: events.Event) -> None:
        if event.kind in (Kind.PLAN, Kind.STARTED, Kind.PRIMARY, Kind.SYNCED):
            said = event.as_dict()
            progress(f"{event.kind.value}: {said.get('reason') or said.get('member') or ''}")

    options = bootstrap.Options(initialize=True, timeout=timeout, pc_recovery_grace=2.0)
    bootstrap.run(SandboxPlatform(sandbox.cluster_file), options, lambda _plan: True, report)


def _start_arbitrator(
    sandbox: Sandbox, timeout: float | None, progress: Callable[[str], None]
) -> None:
    """Start garbd; with ``timeout``, wait until the members count it."""
    progress("starting garbd (arbitrator)")
    sandbox.launch_arbitrator()
    if timeout is not None:
        _wait_for_arbitrator(sandbox, timeout)


def _wait_for_arbitrator(sandbox: Sandbox, timeout: float) -> None:
    first = sandbox.data_members[0].name
    waiting.wait_for(
        sandbox.spec(),
        [first],
        timeout=timeout,
        what="garbd in the component",
        condition=waiting.in_component(ARBITRATOR),
    )


def start_member(
    sandbox: Sandbox | ContainerSandbox, name: str, wait: bool = True, timeout: float = 180.0
) -> None:
    """Start ``name`` in join mode and, by default, wait until it is Synced."""
    sandbox.start(name)
    if not wait:
        return
    spec = sandbox.spec()
    if name == ARBITRATOR and isinstance(sandbox, Sandbox):
        _wait_for_arbitrator(sandbox, timeout)
    else:
        waiting.wait_for(spec, [name], timeout=timeout, what=f"{name} Synced")
