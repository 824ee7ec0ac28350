"""The Docker engine, through its command-line client: the little the container sandbox needs.

Every call runs ``docker`` (``$GALERACTL_DOCKER`` names another client, e.g. ``podman``) with
bounded time; a failure is one line quoting the engine. Nothing here knows about Galera.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from typing import Any

from galera.errors import InvalidInput, OperationFailed

ENV_CLIENT = "GALERACTL_DOCKER"


def client() -> str:
    return os.environ.get(ENV_CLIENT, "docker")


def run(args: Sequence[str], timeout: float = 120.0, check: bool = True) -> str:
    """``docker ARGS``; its standard output. ``check``: a non-zero exit raises."""
    cmd = [client(), *args]
    try:
        result = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise InvalidInput(
            f"{cmd[0]} is not installed", hint="scripts/setup installs docker.io"
        ) from None
    except subprocess.TimeoutExpired:
        raise OperationFailed(f"{' '.join(cmd[:3])} did not finish in {timeout:.0f}s") from None
    if check and result.returncode != 0:
        said = (result.stderr.strip() or result.stdout.strip()).splitlines()
        raise OperationFailed(f"docker {' '.join(args[:2])}: {said[-1] if said else 'failed'}")
    return result.stdout


def available() -> str | None:
    """None when an engine answers; otherwise why not (for messages and test skips)."""
    if shutil.which(client()) is None:
        return f"{client()} is not installed (scripts/setup installs docker.io)"
    try:
        subprocess.run(
            [client(), "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
    except subprocess.CalledProcessError as e:
        lines = (e.stderr or "").strip().splitlines()
        said = lines[-1] if lines else "docker info failed"
        return f"the Docker engine does not answer ({said}): start dockerd"
    except subprocess.TimeoutExpired:
        return "the Docker engine does not answer (docker info timed out): start dockerd"
    return None


def inspect(kind: str, name: str) -> dict[str, Any] | None:
    """``docker KIND inspect NAME`` (container, network, volume, image), or None if absent."""
    out = run([kind, "inspect", name], check=False)
    try:
        data = json.loads(out) if out.strip() else []
    except ValueError:
        return None
    return data[0] if data else None


def image_exists(image: str) -> bool:
    return inspect("image", image) is not None


def container_state(name: str) -> dict[str, Any] | None:
    """The container's ``State`` (Status, Running, Pid, Health, ExitCode…), None if absent."""
    info = inspect("container", name)
    return None if info is None else dict(info.get("State") or {})


def names(kind: str, label: str) -> list[str]:
    """Containers (all, running or not), networks or volumes carrying ``label``
    (``key=value``)."""
    if kind == "container":
        out = run(["ps", "-a", "--filter", f"label={label}", "--format", "{{.Names}}"])
    else:
        out = run([kind, "ls", "--filter", f"label={label}", "--format", "{{.Name}}"])
    return [line for line in out.splitlines() if line.strip()]


def create_network(name: str, subnet: str, labels: dict[str, str]) -> bool:
    """Create a bridge network on ``subnet``; False when the subnet overlaps another."""
    args = ["network", "create", "--driver", "bridge", "--subnet", subnet]
    for key, value in labels.items():
        args += ["--label", f"{key}={value}"]
    cmd = [client(), *args, name]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    if result.returncode == 0:
        return True
    if "overlap" in result.stderr:
        return False
    raise OperationFailed(f"docker network create {name}: {result.stderr.strip()}")


def remove(kind: str, name: str) -> None:
    """Remove a container (with its anonymous volumes), network or volume; absent is fine."""
    if kind == "container":
        run(["rm", "-f", "-v", name], check=False)
    else:
        run([kind, "rm", name], check=False)


def exec_in(container: str, cmd: Sequence[str], timeout: float = 60.0) -> tuple[int, str]:
    """Run ``cmd`` inside a running container (as its own user); (exit code, output)."""
    full = [client(), "exec", container, *cmd]
    result = subprocess.run(
        full, capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
    )
    return result.returncode, result.stdout + result.stderr
