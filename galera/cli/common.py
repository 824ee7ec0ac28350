"""What every command shares: exit codes, error printing, common options."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from galera.errors import AccessDenied, GaleraError, InvalidInput

EXIT_UNHEALTHY = 1
EXIT_BAD_INPUT = 2


def fail(error: GaleraError) -> None:
    """Print one line on stderr and exit: 2 for bad input, 1 for everything else."""
    click.echo(f"galeractl: {error}", err=True)
    code = EXIT_BAD_INPUT if isinstance(error, (InvalidInput, AccessDenied)) else 1
    sys.exit(code)


def cluster_path(option: str | None) -> Path:
    """-c FILE, else $GALERACTL_CLUSTER, else the default sandbox's cluster file."""
    from galera.clusterfile import ENV_CLUSTER

    if option:
        return Path(option)
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


cluster_option = click.option(
    "-c",
    "--cluster",
    "cluster",
    metavar="FILE",
    help="Cluster file (default: $GALERACTL_CLUSTER, then the sandbox's).",
)
output_option = click.option(
    "-o",
    "--output",
    "fmt",
    type=click.Choice(["table", "json", "yaml"]),
    default="table",
    show_default=True,
    help="Output format.",
)
