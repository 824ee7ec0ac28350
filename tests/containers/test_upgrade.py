"""``galeractl upgrade --image`` on a container sandbox: members replaced one at a time in
the safe order by containers of the new image, on their volumes, under a continuous writer."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from galera.config.endpoints import of_member
from galera.platforms import docker
from galera.testing import workload
from tests.containers.conftest import NODE_IMAGE, Handle
from tests.helpers import events, galeractl, of

pytestmark = pytest.mark.containers

NEXT = "galeractl/galera-node:upgrade-test"


def _container(handle: Handle, name: str) -> tuple[str, str]:
    """The member's container id and the id of the image it runs."""
    info = docker.inspect("container", handle.container(name)) or {}
    return str(info["Id"]), str(info["Image"])


def _rebuild(image: str, tag: str) -> str:
    """A new build of ``image`` under ``tag`` (another image id, as a pipeline's next build
    would have); its id."""
    subprocess.run(
        [docker.client(), "build", "-q", "-t", tag, "-"],
        input=f"FROM {image}\nLABEL io.galeractl.rebuilt={time.time()}\n",
        text=True,
        capture_output=True,
        check=True,
        env={**os.environ, "DOCKER_BUILDKIT": "0"},
    )
    return str((docker.inspect("image", tag) or {})["Id"])


def test_upgrade_image_replaces_each_member_by_ist_with_nothing_lost(containers3: Handle) -> None:
    rebuilt = _rebuild(NODE_IMAGE, NEXT)
    sandbox = containers3.sandbox
    names = [m.name for m in sandbox.members]
    before = {n: _container(containers3, n) for n in names}
    ssts = sandbox.full_ssts()
    spec = containers3.spec
    endpoints = [of_member(spec, m) for m in spec.members]
    try:
        with workload.Writer(endpoints, spec.credentials(), threads=3) as writer:
            writer.wait_for_acks(100)
            result = galeractl(
                "upgrade", "--image", NEXT, "--yes", "-o", "json", "-c", str(spec.path),
                timeout=900,
            )  # fmt: skip
            assert result.code == 0, result.stderr + result.stdout[-2000:]
            acked = len(writer.stats.acked)
            writer.wait_for_acks(acked + 100, timeout=120)
        check = workload.check(endpoints, spec.credentials(), writer.stats.acked)
        assert check.ok, check.message
        after = {n: _container(containers3, n) for n in names}
        assert all(after[n][1] == rebuilt and after[n][0] != before[n][0] for n in names), after
        assert all(before[n][1] != rebuilt for n in names)
        evts = events(result)
        assert [e["member"] for e in of(evts, "stopped")] == of(evts, "plan")[0]["order"]
        assert sandbox.full_ssts() == ssts, "a member rejoined by full SST"
        assert containers3.status()["cluster"]["verdict"] == "healthy"  # type: ignore[index]
    finally:
        # Later tests (and a re-run) expect the sandbox on the default image's tag.
        containers3.sandbox.state["image"] = NODE_IMAGE
        containers3.sandbox.save()
