"""``galeractl sandbox``: a real Galera cluster on this machine, for development and tests."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from galera.cli import output

dir_option = click.option(
    "--dir",
    "root",
    metavar="DIR",
    default=None,
    help="Sandbox directory (default: $GALERACTL_SANDBOX_DIR or ~/.galeractl/sandbox).",
)


def _root(root: str | None) -> Path:
    from galera.platforms.sandbox import default_dir

    return Path(root).expanduser().absolute() if root else default_dir()


def _load(root: str | None) -> Any:
    from galera.platforms import containers

    return containers.load(_root(root))  # of processes, or of containers


@click.group()
def sandbox() -> None:
    """A local Galera cluster: galera-0, galera-1, … each with its agent and mariadbd."""


@sandbox.command()
@click.option("--nodes", default=3, show_default=True, type=int, help="Data members (1-9).")
@dir_option
@click.option("--netns", is_flag=True, help="Put each member in its own network namespace.")
@click.option(
    "--netns-number",
    default=0,
    show_default=True,
    type=int,
    help="With --netns: which sandbox network (0-99; N>0: bridge gctlN, namespaces gctlN-*, "
    "addresses 10.231.N.0/24), so that several --netns sandboxes can be up at once.",
)
@click.option("--arbitrator", is_flag=True, help="Add a garbd voting member.")
@click.option(
    "--base-port",
    default=23300,
    show_default=True,
    type=int,
    help="First port on 127.0.0.1 (without --netns).",
)
@click.option(
    "--timeout",
    default=180.0,
    show_default=True,
    type=float,
    help="Seconds to wait for the members to be Synced.",
)
@click.option(
    "--first-install",
    is_flag=True,
    help="Form the cluster as a first installation on Kubernetes does: every member starts "
    "empty in join mode, 'bootstrap --initialize' creates the cluster on the first and the "
    "others join by full SST (slower than the default seeding).",
)
@click.option(
    "--no-tls",
    is_flag=True,
    help="Plaintext on every path (TLS is on by default; status then warns).",
)
@click.option(
    "--proxy",
    is_flag=True,
    help="A real HAProxy in front of the members: a writer frontend (base port + 97) that "
    "follows the agents' /health/writer and a reader frontend (+ 98); galera-0 takes writes.",
)
@click.option(
    "--from-backup",
    "from_backup",
    metavar="DIR",
    default=None,
    help="Seed every member from this backup (galeractl backup): verified first, the first "
    "member formed at its position, the others joining by IST.",
)
@click.option(
    "--containers",
    is_flag=True,
    help="Members are containers of the node image on a Docker network of their own, run "
    "as the rendered StatefulSet's pods (docs/containers.md); formed as a first "
    "installation (bootstrap --initialize, joiners by SST).",
)
@click.option(
    "--image",
    default=None,
    metavar="IMAGE",
    help="The node image of --containers (default galeractl/galera-node:dev, which "
    "scripts/build-images --local-base builds).",
)
@click.option(
    "--controller",
    is_flag=True,
    help="With --containers: also run 'galeractl controller' in a container of the "
    "controller image on the sandbox's network (docker logs shows its events).",
)
def up(
    nodes: int,
    root: str | None,
    netns: bool,
    netns_number: int,
    arbitrator: bool,
    base_port: int,
    timeout: float,
    first_install: bool,
    no_tls: bool,
    proxy: bool,
    from_backup: str | None,
    containers: bool,
    image: str | None,
    controller: bool,
) -> None:
    """Create the sandbox and wait until every member is Synced."""
    from galera.controller import sandbox as workflow
    from galera.errors import InvalidInput
    from galera.platforms.netns import Network

    if netns_number and not netns:
        raise InvalidInput("--netns-number needs --netns")
    if first_install and from_backup:
        raise InvalidInput("--from-backup and --first-install exclude each other")
    if controller and not (containers or image):
        raise InvalidInput("--controller needs --containers (it runs the controller image)")

    started = time.monotonic()
    if containers or image:
        if netns_number or proxy or first_install or from_backup:
            raise InvalidInput(
                "--containers does not take --netns-number, --proxy, --first-install or "
                "--from-backup (it always forms its cluster as a first installation)"
            )
        sb = _up_containers(
            _root(root), nodes, netns, arbitrator, timeout, not no_tls, image, controller
        )
    else:
        sb = workflow.up(
            _root(root),
            nodes=nodes,
            netns=netns,
            arbitrator=arbitrator,
            base_port=base_port,
            timeout=timeout,
            progress=lambda m: click.echo(f"  {m}", err=True),
            first_install=first_install,
            tls=not no_tls,
            proxy=proxy,
            network=Network.numbered(netns_number),
            from_backup=Path(from_backup) if from_backup else None,
        )
        for pool, address in sb.spec().proxy.items():
            click.echo(f"  {pool}s through HAProxy at {address}", err=True)
    click.echo(
        f"sandbox ready in {time.monotonic() - started:.1f}s: {len(sb.members)} members; "
        f"cluster file {sb.cluster_file}"
    )
    click.echo(f"try: galeractl status -c {sb.cluster_file}")


def _up_containers(
    root: Path,
    nodes: int,
    netns: bool,
    arbitrator: bool,
    timeout: float,
    tls: bool,
    image: str | None,
    controller: bool,
) -> Any:
    from galera.controller import containers as workflow
    from galera.errors import InvalidInput
    from galera.platforms.containers import IMAGE

    if netns:
        raise InvalidInput("--containers does not take --netns: each container has its own")
    sb = workflow.up(
        root,
        nodes=nodes,
        timeout=max(timeout, 300.0),
        progress=lambda m: click.echo(f"  {m}", err=True),
        tls=tls,
        image=image or IMAGE,
        arbitrator=arbitrator,
    )
    if controller:
        name = sb.galeractl(["controller", "-o", "json"], detach=True)
        click.echo(f"  galeractl controller runs in container {name}", err=True)
    return sb


@sandbox.command()
@dir_option
@click.option(
    "--purge", is_flag=True, help="Also delete the data (volumes of containers) and the directory."
)
def down(root: str | None, purge: bool) -> None:
    """Stop every member (cleanly), garbd and the network."""
    sb = _load(root)
    stopped = sb.down(purge=purge)
    click.echo(
        f"stopped {', '.join(stopped) or 'nothing (already down)'}"
        + (f"; removed {sb.root}" if purge else "")
    )


@sandbox.command()
@click.argument("member")
@dir_option
@click.option(
    "--signal",
    "signame",
    type=click.Choice(["KILL", "TERM", "STOP", "CONT"], case_sensitive=False),
    default="KILL",
    show_default=True,
    help="KILL or TERM: the agent holds it down until 'sandbox start'; STOP pauses it (a "
    "frozen VM, a long stall) until CONT.",
)
@click.option(
    "--container",
    is_flag=True,
    help="Containers only: signal the whole container (docker kill; its restart policy runs "
    "it again, as the kubelet would), or pause and unpause it with STOP and CONT.",
)
def kill(member: str, root: str | None, signame: str, container: bool) -> None:
    """Fault injection: signal MEMBER's server (crash, graceful stop, pause, resume)."""
    sb = _load(root)
    if container:
        from galera.errors import InvalidInput
        from galera.platforms.containers import ContainerSandbox

        if not isinstance(sb, ContainerSandbox):
            raise InvalidInput("--container needs a sandbox of containers (up --containers)")
        sb.kill(member, signame, container=True)
    else:
        sb.kill(member, signame)
    click.echo(f"sent SIG{signame.upper()} to {member}" + (" (its container)" if container else ""))


@sandbox.command()
@click.argument("member")
@dir_option
@click.option(
    "--wait/--no-wait", default=True, show_default=True, help="Wait until the member is Synced."
)
@click.option("--timeout", default=180.0, show_default=True, type=float)
def start(member: str, root: str | None, wait: bool, timeout: float) -> None:
    """Start MEMBER again in join mode."""
    from galera.controller import sandbox as workflow

    sb = _load(root)
    workflow.start_member(sb, member, wait=wait, timeout=timeout)
    click.echo(f"{member} started" + (" and Synced" if wait else ""))


@sandbox.command()
@click.argument("member")
@dir_option
@click.option(
    "--wait/--no-wait", default=True, show_default=True, help="Wait until the member is Synced."
)
@click.option("--timeout", default=300.0, show_default=True, type=float)
def replace(member: str, root: str | None, wait: bool, timeout: float) -> None:
    """Containers only: delete MEMBER's pod as Kubernetes does (graceful stop, a new
    container on the same data volume, its agent joins)."""
    from galera.controller import containers as workflow
    from galera.errors import InvalidInput
    from galera.platforms.containers import ContainerSandbox

    sb = _load(root)
    if not isinstance(sb, ContainerSandbox):
        raise InvalidInput("replace needs a sandbox of containers (up --containers)")
    workflow.replace(sb, member, wait=wait, timeout=timeout)
    click.echo(f"{member} replaced" + (" and Synced" if wait else ""))


@sandbox.command()
@click.argument("members", nargs=-1, required=True)
@dir_option
def partition(members: tuple[str, ...], root: str | None) -> None:
    """Cut MEMBERS off from the other members (needs --netns)."""
    sb = _load(root)
    for name in members:
        sb.member(name)
    sb.partition(list(members))
    others = [m.name for m in sb.members if m.name not in members]
    click.echo(f"partitioned {{{', '.join(members)}}} from {{{', '.join(others)}}}")


@sandbox.command()
@dir_option
def heal(root: str | None) -> None:
    """Remove every partition."""
    sb = _load(root)
    sb.heal()
    click.echo("network healed")


@sandbox.command(name="ls")
@dir_option
@output.option
def ls(root: str | None, fmt: str) -> None:
    """List the sandbox's members and their processes."""
    sb = _load(root)
    rows = []
    for m in sb.members:
        garbd = m.name == "garbd" or getattr(m, "arbitrator", False)  # (containers: its pid)
        rows.append(
            {
                "name": m.name,
                "address": f"{m.address}:{m.sql_port}"
                if not garbd
                else f"{m.address}:{m.galera_port}",
                "agent": m.agent_url if not garbd else None,
                "agent_running": sb.agent_alive(m.name),
                "mariadbd_pid": sb.mariadbd_pid(m.name)
                if m.name != "garbd"
                else sb.state.get("garbd_pid"),
                "netns": sb.network.namespace(m.name) if m.netns else None,
            }
        )
    data = {"dir": str(sb.root), "cluster_file": str(sb.cluster_file), "members": rows}

    def table(d: dict[str, Any]) -> str:
        return f"sandbox {d['dir']}\n" + output.columns(
            ["MEMBER", "ADDRESS", "AGENT", "AGENT UP", "PID", "NETNS"],
            [
                [
                    r["name"],
                    r["address"],
                    r["agent"],
                    "yes" if r["agent_running"] else "no",
                    r["mariadbd_pid"],
                    r["netns"],
                ]
                for r in d["members"]
            ],
        )

    output.emit(data, fmt, table)
