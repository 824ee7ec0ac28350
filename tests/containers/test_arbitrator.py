"""Two node containers and a garbd container of the same image (the arbitrator Deployment's
pod): the arbitrator keeps the survivor Primary, and partitions cut containers' networks."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from galera.controller import waiting
from tests.containers.conftest import Handle
from tests.helpers import galeractl

pytestmark = pytest.mark.containers


@pytest.fixture(scope="module")
def pair(images: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Handle]:
    root = tmp_path_factory.mktemp("arbitrator") / "sb"
    try:
        result = galeractl(
            "sandbox", "up", "--containers", "--nodes", "2", "--arbitrator", "--dir", str(root),
            timeout=600,
        )  # fmt: skip
        assert result.code == 0, f"sandbox up --containers --arbitrator failed: {result.stderr}"
        yield Handle(root)
    finally:
        if (root / "sandbox.json").exists():
            galeractl("sandbox", "down", "--purge", "--dir", str(root), timeout=300)
        shutil.rmtree(root, ignore_errors=True)


def _member(status: dict[str, Any], name: str) -> dict[str, Any]:
    return next(m for m in status["members"] if m["name"] == name)


def test_garbd_container_keeps_the_survivor_of_two_members_primary(pair: Handle) -> None:
    status = pair.status()
    assert status["cluster"]["verdict"] == "healthy", status["cluster"]
    assert _member(status, "galera-0")["cluster_size"] == 3  # garbd counted
    root = str(pair.root)
    assert galeractl("sandbox", "kill", "galera-1", "--dir", root).code == 0
    pair.wait(["galera-0"], waiting.primary_of_size(2), "galera-0 Primary with garbd")
    survivor = _member(pair.status(), "galera-0")
    assert survivor["cluster_status"] == "Primary" and survivor["ready"], survivor
    result = galeractl("sandbox", "start", "galera-1", "--dir", root)
    assert result.code == 0, result.stderr
    assert pair.status()["cluster"]["verdict"] == "healthy"


def test_partitioned_container_goes_non_primary_and_heal_restores(pair: Handle) -> None:
    root = str(pair.root)
    result = galeractl("sandbox", "partition", "galera-1", "--dir", root)
    assert result.code == 0, result.stderr
    pair.wait(["galera-1"], waiting.non_primary, "galera-1 non-Primary", timeout=60)
    pair.wait(["galera-0"], waiting.primary_of_size(2), "galera-0 Primary with garbd")
    result = galeractl("sandbox", "heal", "--dir", root)
    assert result.code == 0, result.stderr
    pair.wait_synced(["galera-0", "galera-1"], timeout=120)
    assert pair.status()["cluster"]["verdict"] == "healthy"
