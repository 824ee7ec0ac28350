"""What every command shares: exit codes, error printing, common options."""

from __future__ import annotations

import contextlib
import os
import sys
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from galera.errors import AccessDenied, GaleraError, InvalidInput

if TYPE_CHECKING:
    from galera.config.clusterfile import ClusterSpec
    from galera.platforms.base import Platform
    from galera.platforms.kubernetes import Kubernetes

EXIT_UNHEALTHY = 1
EXIT_BAD_INPUT = 2


def fail(error: GaleraError) -> None:
    """Print one line on stderr and exit: 2 for bad input, 1 for everything else."""
    click.echo(f"galeractl: {error}", err=True)
    code = EXIT_BAD_INPUT if isinstance(error, (InvalidInput, AccessDenied)) else 1
    sys.exit(code)


CLUSTER_BEFORE = "cluster.before"  # -c FILE given before the command (galeractl -c F status)


def cluster_path(option: str | None) -> Path:
    """-c FILE (after or before the command), else $GALERACTL_CLUSTER, else the default
    sandbox's cluster file."""
    from galera.config.clusterfile import ENV_CLUSTER

    context = click.get_current_context(silent=True)
    before = context.meta.get(CLUSTER_BEFORE) if context is not None else None
    if option and before and option != before:
        raise InvalidInput(f"-c given twice with different files: {before} and {option}")
    chosen = option or before
    if chosen:
        return Path(chosen)
    if os.environ.get(ENV_CLUSTER):
        return Path(os.environ[ENV_CLUSTER])
    from galera.platforms.sandbox import default_dir

    fallback = default_dir() / "cluster.yaml"
    if fallback.exists():
        return fallback
    raise InvalidInput(
        f"no cluster file: pass -c FILE or set {ENV_CLUSTER} "
        "(or create a sandbox with: galeractl sandbox up)"
    )


def confirmed(yes: bool, question: str) -> bool:
    """--yes, or a person answering yes at a terminal; without a terminal, no."""
    if yes:
        return True
    if not sys.stdin.isatty():
        return False
    return click.confirm(question, default=False)


def assignments(items: tuple[str, ...], option: str, what: str = "NAME=VALUE") -> dict[str, str]:
    """Repeated ``--option NAME=VALUE`` values as a dict; a malformed one is bad input."""
    pairs: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"{option} {item!r}: expected {what}")
        pairs[key.strip()] = value.strip()
    return pairs


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    ctx.meta[f"kube.{param.name}"] = value
    return value


_CLUSTER_OPTIONS = [
    click.option(
        "-c",
        "--cluster",
        "cluster",
        metavar="FILE",
        help="Cluster file (default: $GALERACTL_CLUSTER, then the sandbox's).",
    ),
    click.option(
        "--kube",
        is_flag=True,
        expose_value=False,
        callback=_remember,
        envvar="GALERACTL_KUBE",
        help="The cluster runs on Kubernetes: its members are the pods of --statefulset "
        "(in-cluster config, or the kubeconfig).",
    ),
    click.option(
        "--statefulset",
        default="galera",
        show_default=True,
        envvar="GALERACTL_STATEFULSET",
        expose_value=False,
        callback=_remember,
        metavar="NAME",
        help="With --kube: the cluster's name (StatefulSets labelled galeractl.io/cluster=NAME, "
        "or the StatefulSet called NAME).",
    ),
    click.option(
        "-n",
        "--namespace",
        envvar="GALERACTL_NAMESPACE",
        expose_value=False,
        callback=_remember,
        help="With --kube: the namespace (default: the context's, or the pod's own).",
    ),
    click.option("--kubeconfig", expose_value=False, callback=_remember, metavar="FILE"),
    click.option("--context", expose_value=False, callback=_remember, metavar="NAME"),
    click.option(
        "--kube-api",
        expose_value=False,
        callback=_remember,
        metavar="URL",
        help="With --kube: talk to this API URL without credentials (e.g. kubectl proxy).",
    ),
    click.option(
        "--port-forward",
        is_flag=True,
        envvar="GALERACTL_PORT_FORWARD",
        expose_value=False,
        callback=_remember,
        help="With --kube from outside the cluster: reach every member's SQL and agent ports "
        "through `kubectl port-forward` (your kubeconfig and permissions).",
    ),
    click.option(
        "--secrets-dir",
        envvar="GALERACTL_SECRETS_DIR",
        expose_value=False,
        callback=_remember,
        metavar="DIR",
        help="With --kube: client.cnf and agent-token here (default: read the cluster's Secret).",
    ),
]


def cluster_option(func: Any) -> Any:
    """-c FILE, or --kube and how to reach the cluster on Kubernetes."""
    for decorator in reversed(_CLUSTER_OPTIONS):
        func = decorator(func)
    return func


def on_kube() -> bool:
    """Whether --kube was given (before anything is read or contacted)."""
    return bool(click.get_current_context().meta.get("kube.kube"))


def kube_platform() -> Kubernetes | None:
    """The Kubernetes platform the --kube options describe, or None without --kube."""
    meta = click.get_current_context().meta
    if not meta.get("kube.kube"):
        return None
    from galera.platforms.kubernetes import Kubernetes, Target

    secrets = meta.get("kube.secrets_dir")
    target = Target(
        cluster=meta.get("kube.statefulset") or "galera",
        namespace=meta.get("kube.namespace"),
        kubeconfig=meta.get("kube.kubeconfig"),
        context=meta.get("kube.context"),
        api_url=meta.get("kube.kube_api"),
        secrets_dir=Path(secrets) if secrets else None,
        port_forward=bool(meta.get("kube.port_forward")),
    )
    return Kubernetes(target)


def platform_for(cluster: str | None) -> Platform:
    """Where the cluster runs: Kubernetes with --kube, else the cluster file's static
    members (VMs, the sandbox). Built once per command."""
    platform = kube_platform()
    if platform is not None:
        if cluster or click.get_current_context().meta.get(CLUSTER_BEFORE):
            raise InvalidInput("-c FILE and --kube exclude each other")
        return platform
    from galera.platforms import local
    from galera.platforms.static import Static

    path = cluster_path(cluster)
    static = local.platform(path) if local.is_sandbox(path) else Static(path)
    static.spec()  # a bad cluster file is refused before anything else
    return static


def load_spec(cluster: str | None) -> ClusterSpec:
    """The cluster: discovered on Kubernetes with --kube, else read from the cluster file."""
    return platform_for(cluster).spec()


take_lease_option = click.option(
    "--force",
    "take_lease",
    is_flag=True,
    help="Take the cluster's lease from the controller or command holding it (it stops "
    "before its next change). Without it, refused while another actor holds the lease.",
)


def acting(
    platform: Platform, command: str, take_lease: bool, emit: Any, dry_run: bool = False
) -> AbstractContextManager[Any]:
    """The lease a changing command holds for its run (nothing for a dry run: it changes
    nothing and may look while a controller acts)."""
    if dry_run:
        return contextlib.nullcontext()
    from galera.controller import fencing

    return fencing.taken(platform, command, take_lease, emit)
