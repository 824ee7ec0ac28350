"""The static platform (VMs, the sandbox): what the controller gets from a cluster file."""

from __future__ import annotations

from pathlib import Path

import pytest

from galera.domain import events
from galera.errors import InvalidInput
from galera.platforms.base import Platform
from galera.platforms.local import SandboxPlatform, is_sandbox
from galera.platforms.static import Static

CLUSTER = """\
credentials: {user: monitor, password_env: DB_PASSWORD}
members: [{name: a, host: 10.0.0.1}, {name: b, host: 10.0.0.2}]
"""


def static(tmp_path: Path) -> Static:
    path = tmp_path / "prod.yaml"
    path.write_text(CLUSTER)
    return Static(path)


def test_members_and_records_come_from_the_cluster_file(tmp_path: Path) -> None:
    platform: Platform = static(tmp_path)  # the port, as the controller sees it
    assert platform.kind == "static"
    assert platform.spec().names == ("a", "b")
    assert platform.progress_store("rolling").where == str(tmp_path / "prod.rolling.json")
    assert platform.incarnation("a") is None  # servers restart in place, never replaced
    assert platform.outdated() is None  # no stored configuration: the controller never rolls


def test_without_agents_nobody_holds_the_lease_and_events_pass_through(tmp_path: Path) -> None:
    platform = static(tmp_path)  # members without agents: no majority can grant the lease
    held, holder = platform.acquire_lease(15)
    assert not held and holder.startswith("nobody: 0 of 0 agents granted the lease")
    assert not platform.lease_reaches(None)
    seen: list[events.Event] = []
    decision = events.of(events.Kind.DECISION, reason="healthy", action="wait")
    platform.emitter(seen.append)(decision)
    assert seen == [decision]
    platform.release_lease()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda p: p.check_rollout({}, "mariadb:11.4"), "--image needs --kube"),
        (lambda p: p.set_image("mariadb:11.4", print, check_only=True), "--image needs --kube"),
        (lambda p: p.apply([], print), "--apply needs --kube"),
    ],
    ids=["image", "set-image", "apply"],
)
def test_what_only_kubernetes_can_do_is_refused(tmp_path: Path, call: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        call(static(tmp_path))  # type: ignore[operator]


def test_options_through_the_agents_are_fine_on_vms(tmp_path: Path) -> None:
    platform = static(tmp_path)
    assert platform.check_rollout({"max_connections": "500"}, None) is None  # not refused


# --- the sandbox platform -------------------------------------------------------------------


class Processes:
    """The sandbox's process table as the platform sees it."""

    def __init__(self, alive: bool) -> None:
        self.alive = alive
        self.launched: list[tuple[str, str]] = []

    def agent_alive(self, name: str) -> bool:
        return self.alive

    def launch_agent(self, name: str, mode: str = "join") -> int:
        self.launched.append((name, mode))
        return 4242


def sandbox_platform(tmp_path: Path, processes: Processes) -> SandboxPlatform:
    path = tmp_path / "cluster.yaml"
    path.write_text(CLUSTER)
    (tmp_path / "sandbox.json").write_text("{}")
    return SandboxPlatform(path, load=lambda _root: processes)


def test_a_sandbox_is_recognised_by_its_state_file(tmp_path: Path) -> None:
    assert not is_sandbox(tmp_path / "cluster.yaml")
    platform = sandbox_platform(tmp_path, Processes(alive=True))
    assert is_sandbox(platform.path)
    assert platform.kind == "sandbox"
    assert platform.spec().names == ("a", "b")
    assert not is_sandbox(static(tmp_path).path)  # any other cluster file is a VM cluster


def test_a_member_whose_agent_is_gone_is_brought_back_by_starting_its_agent(
    tmp_path: Path,
) -> None:
    processes = Processes(alive=False)
    seen: list[events.Event] = []
    spec = sandbox_platform(tmp_path, processes).bring_back("b", seen.append, timeout=5)
    assert processes.launched == [("b", "join")]
    assert [(e.kind, e.member, e.details["mode"]) for e in seen] == [
        (events.Kind.STARTED, "b", "join")
    ]
    assert spec.names == ("a", "b")
