"""Bad input to the container sandbox: one clear line, exit 2, nothing created (no engine
needed: these are refused before one is asked anything that changes)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import galeractl, one_line_error


def test_up_containers_without_a_docker_client_says_how_to_get_one(tmp_path: Path) -> None:
    root = tmp_path / "sb"
    result = galeractl(
        "sandbox", "up", "--containers", "--dir", str(root),
        env={"GALERACTL_DOCKER": str(tmp_path / "no-docker")},
    )  # fmt: skip
    assert result.code == 2
    assert "is not installed (scripts/setup installs docker.io)" in one_line_error(result)
    assert not root.exists()


def test_up_containers_refuses_netns(tmp_path: Path) -> None:
    result = galeractl("sandbox", "up", "--containers", "--netns", "--dir", str(tmp_path / "s"))
    assert result.code == 2
    assert "--containers does not take --netns" in one_line_error(result)


def test_replace_and_kill_container_need_a_sandbox_of_containers(tmp_path: Path) -> None:
    state = {"version": 1, "cluster_name": "sandbox", "nodes": 1, "netns": False}
    state |= {"arbitrator": False, "base_port": 23300, "tls": False, "agent_pids": {}}
    (tmp_path / "sandbox.json").write_text(json.dumps(state))  # a sandbox of processes
    for args in (["replace", "galera-0"], ["kill", "galera-0", "--container"]):
        result = galeractl("sandbox", *args, "--dir", str(tmp_path))
        assert result.code == 2, result.stderr
        assert "needs a sandbox of containers" in one_line_error(result)
