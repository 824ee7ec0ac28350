"""End to end on a real Kubernetes cluster made by kind: build both images, load them into
kind, install the Helm chart, and drive the cluster with galeractl from inside the controller
pod. Runs wherever Docker, kind, kubectl and helm exist; skips with the reason elsewhere
(this development machine has no Docker engine).

    GALERACTL_E2E=1 python -m pytest tests/e2e          # creates and deletes a kind cluster
    GALERACTL_E2E_KEEP=1 ...                            # keeps it for inspection
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from galera.controller import certs

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".tools" / "bin"
NODE_IMAGE = "ghcr.io/galeractl/galera-node:e2e"
CONTROLLER_IMAGE = "ghcr.io/galeractl/galeractl:e2e"
NAMESPACE = "galera-e2e"


def tool(name: str) -> str | None:
    local = TOOLS / name
    return str(local) if local.exists() else shutil.which(name)


def missing() -> str | None:
    """Why the suite cannot run here, or None."""
    for name in ("docker", "kind", "kubectl", "helm"):
        if tool(name) is None:
            return f"{name} not found"
    probe = subprocess.run([tool("docker") or "docker", "info"], capture_output=True, text=True)
    if probe.returncode != 0:
        return "no Docker engine answers (docker info failed)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = missing()
    if reason is None and not os.environ.get("GALERACTL_E2E"):
        reason = "set GALERACTL_E2E=1 to create a kind cluster (several minutes)"
    if reason is None:
        return
    for item in items:
        if item.path.is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.skip(reason=f"kind end-to-end suite: {reason}"))


def run(*args: str, timeout: float = 600, check: bool = True, stdin: str | None = None) -> str:
    exe = tool(args[0]) or args[0]
    proc = subprocess.run(
        [exe, *args[1:]], capture_output=True, text=True, timeout=timeout, input=stdin, cwd=ROOT
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed: {proc.stderr.strip()[-2000:]}")
    return proc.stdout


class Kind:
    """One kind cluster with the chart installed; helpers to drive and inspect it."""

    def __init__(self, name: str) -> None:
        self.name = name

    def kubectl(
        self, *args: str, timeout: float = 300, check: bool = True, stdin: str | None = None
    ) -> str:
        return run(
            "kubectl",
            "--context",
            f"kind-{self.name}",
            "-n",
            NAMESPACE,
            *args,
            timeout=timeout,
            check=check,
            stdin=stdin,
        )

    def galeractl(self, *args: str, timeout: float = 900) -> dict[str, Any] | str:
        """galeractl inside the controller pod (in-cluster config), -o json where it helps."""
        out = self.kubectl(
            "exec",
            "deploy/galeractl",
            "--",
            "galeractl",
            *args,
            "--kube",
            "--statefulset",
            "galera",
            "-n",
            NAMESPACE,
            timeout=timeout,
        )
        try:
            return json.loads(out)
        except ValueError:
            return out

    def status(self) -> dict[str, Any]:
        result = self.galeractl("status", "-o", "json")
        assert isinstance(result, dict), result
        return result

    def wait_healthy(self, timeout: float = 900) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            try:
                last = self.status()
                if last["cluster"]["verdict"] == "healthy":
                    return last
            except AssertionError as e:
                last = str(e)
            time.sleep(5)
        raise AssertionError(f"cluster not healthy after {timeout:.0f}s: {last}")

    def pod_uids(self) -> dict[str, str]:
        pods = json.loads(
            self.kubectl(
                "get",
                "pods",
                "-l",
                "galeractl.io/cluster=galera,app.kubernetes.io/component=database",
                "-o",
                "json",
            )
        )
        return {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods["items"]}


@pytest.fixture(scope="session")
def kind_cluster() -> Iterator[Kind]:
    name = f"galeractl-{uuid.uuid4().hex[:6]}"
    run(
        "docker",
        "build",
        "-f",
        "deploy/images/node/Dockerfile",
        "-t",
        NODE_IMAGE,
        ".",
        timeout=1800,
    )
    run(
        "docker",
        "build",
        "-f",
        "deploy/images/controller/Dockerfile",
        "-t",
        CONTROLLER_IMAGE,
        ".",
        timeout=1800,
    )
    run("kind", "create", "cluster", "--name", name, "--wait", "120s", timeout=600)
    kind = Kind(name)
    try:
        for image in (NODE_IMAGE, CONTROLLER_IMAGE):
            run("kind", "load", "docker-image", image, "--name", name, timeout=600)
        run("kubectl", "--context", f"kind-{name}", "create", "namespace", NAMESPACE)
        secret = {
            "agent-token": uuid.uuid4().hex,
            "client.cnf": "[client]\nuser = galeractl\npassword = e2e-monitor-pw\n",
            "sst.cnf": "[mysqld]\nwsrep_sst_auth = galeractl:e2e-monitor-pw\n",
            "init.sql": (
                "CREATE USER 'galeractl'@'%' IDENTIFIED BY 'e2e-monitor-pw';\n"
                "GRANT ALL PRIVILEGES ON *.* TO 'galeractl'@'%' WITH GRANT OPTION;\n"
                "CREATE USER 'galeractl'@'localhost' IDENTIFIED BY 'e2e-monitor-pw';\n"
                "GRANT ALL PRIVILEGES ON *.* TO 'galeractl'@'localhost' WITH GRANT OPTION;\n"
            ),
        }
        manifest = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "galera-secrets", "namespace": NAMESPACE},
            "stringData": secret,
        }
        kind.kubectl("apply", "-f", "-", stdin=json.dumps(manifest))
        # TLS is on by default: the Secret `galeractl certs secret` writes (no cert-manager).
        tls_secret = certs.kubernetes_secret({"namespace": NAMESPACE}, None, 30, None)[0]
        kind.kubectl("apply", "-f", "-", stdin=json.dumps(tls_secret))
        run(
            "helm",
            "install",
            "galeractl",
            "charts/galeractl",
            "--kube-context",
            f"kind-{name}",
            "-n",
            NAMESPACE,
            "--wait",
            "--timeout",
            "10m",
            "--set",
            f"controller.image.repository={CONTROLLER_IMAGE.split(':')[0]}",
            "--set",
            "controller.image.tag=e2e",
            "--set",
            f"galera.image.repository={NODE_IMAGE.split(':')[0]}",
            "--set",
            "galera.image.tag=e2e",
            "--set",
            "galera.image.pullPolicy=Never",
            "--set",
            "galera.storage.size=1Gi",
            "--set",
            "galera.resources.requests.cpu=100m",
            "--set",
            "galera.resources.requests.memory=512Mi",
            "--set",
            "galera.resources.limits.memory=1Gi",
            "--set",
            "galera.antiAffinity=none",
            timeout=900,
        )
        kind.wait_healthy()
        yield kind
    finally:
        if not os.environ.get("GALERACTL_E2E_KEEP"):
            run("kind", "delete", "cluster", "--name", name, check=False, timeout=300)
