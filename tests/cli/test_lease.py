"""One actor at a time on VMs and in the sandbox: the lease a majority of the members'
agents grant, the fence every change passes, and a person's command refused while a
controller holds it.

Three real agents (their HTTP servers and supervisors, whose servers are never started)
run here on loopback; nothing here needs a database."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from galera import fence, poll
from galera.agent import guard
from galera.agent.api import make_handler
from galera.agent.server import Agent
from galera.agent.supervisor import Supervisor
from galera.agent_client import AgentClient
from galera.config.agent import parse
from galera.controller import fencing
from galera.errors import LeaseLost, UnsafeOperation
from galera.platforms.static import Static
from tests.helpers import galeractl, one_line_error
from tests.unit.builders import agent_data

TOKEN = "lease-test-token"


@dataclass
class Agents:
    cluster: Path
    servers: dict[str, guard.BoundedServer]
    threads: list[threading.Thread]

    def client(self, name: str) -> AgentClient:
        port = self.servers[name].server_address[1]
        return AgentClient(f"http://127.0.0.1:{port}", TOKEN, member=name)

    def stop(self, name: str) -> None:
        self.servers[name].shutdown()
        self.servers[name].server_close()

    def platform(self, identity: str) -> Static:
        platform = Static(self.cluster)
        platform.identity = identity
        return platform


def _agent(directory: Path, name: str) -> guard.BoundedServer:
    directory.mkdir()
    server = {
        **agent_data()["server"],
        "datadir": str(directory / "data"),
        "log_error": str(directory / "mariadbd.err"),
        "socket": str(directory / "mysqld.sock"),
        "pid_file": str(directory / "mysqld.pid"),
    }
    (directory / "token").write_text(TOKEN)
    data = agent_data(name=name, listen="127.0.0.1:1", start="none", server=server)
    config = parse(data, directory / "agent.yaml")
    supervisor = Supervisor(config)
    tokens = guard.Tokens(config.token, config.token_source())
    return guard.BoundedServer(("127.0.0.1", 0), make_handler(Agent(config, supervisor), tokens))


@pytest.fixture
def agents(tmp_path: Path) -> Iterator[Agents]:
    servers = {name: _agent(tmp_path / name, name) for name in ("a", "b", "c")}
    threads = []
    for httpd in servers.values():
        thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1})
        thread.start()
        threads.append(thread)
    (tmp_path / "token").write_text(TOKEN)
    members = ", ".join(
        f"{{name: {n}, host: 127.0.0.1, port: 1, agent: 'http://127.0.0.1:{s.server_address[1]}'}}"
        for n, s in servers.items()
    )
    cluster = tmp_path / "prod.yaml"
    cluster.write_text(
        "credentials: {user: monitor, password_env: DB_PASSWORD}\n"
        f"agent: {{token_file: {tmp_path / 'token'}}}\n"
        "tls: {enabled: false}\n"
        f"members: [{members}]\n"
    )
    found = Agents(cluster, servers, threads)
    try:
        yield found
    finally:
        for httpd in servers.values():
            httpd.shutdown()
            httpd.server_close()
        for thread in threads:
            thread.join(5)


def holders(agents: Agents) -> dict[str, str | None]:
    found = {}
    for name in agents.servers:
        lease = agents.client(name).status().get("lease")
        found[name] = lease["holder"] if lease else None
    return found


def test_a_majority_grants_it_to_one_actor_at_a_time(agents: Agents) -> None:
    first, second = agents.platform("controller-1"), agents.platform("controller-2")
    assert first.acquire_lease(15) == (True, "controller-1")
    # A majority's grants are enough: the third answer may still be on its way.
    everyone = {"a": "controller-1", "b": "controller-1", "c": "controller-1"}
    poll.until(
        lambda: True if holders(agents) == everyone else None,
        timeout=5,
        interval=0.05,
        what="every agent granting the lease",
        seen=lambda: str(holders(agents)),
    )
    assert second.acquire_lease(15) == (False, "controller-1")
    first.release_lease()
    assert second.acquire_lease(15) == (True, "controller-2")


def test_shares_of_a_lease_not_held_are_given_back(agents: Agents) -> None:
    # A holder has a and b (c was unreachable when it asked): a newcomer gets c alone,
    # which is no majority, and gives it back at once.
    agents.client("a").lease("controller-1", 15)
    agents.client("b").lease("controller-1", 15)
    assert agents.platform("controller-2").acquire_lease(15) == (False, "controller-1")
    assert holders(agents)["c"] is None


def test_without_a_majority_of_agents_nobody_holds_it(agents: Agents) -> None:
    agents.stop("b")
    agents.stop("c")
    held, holder = agents.platform("controller-1").acquire_lease(15)
    assert not held
    assert holder.startswith(
        "nobody: 1 of 3 agents granted the lease, 2 are needed (b, c did not answer: "
        "cannot reach agent at http://127.0.0.1:"
    )
    assert agents.client("a").status().get("lease") is None  # its share was given back


def test_a_stale_holder_is_fenced_by_the_agents(agents: Agents) -> None:
    stale = agents.platform("controller-1")
    assert stale.acquire_lease(1)[0]  # a one-second term: then it is "paused" past it
    taker = agents.platform("controller-2")
    poll.until(lambda: taker.acquire_lease(15)[0] or None, timeout=10, interval=0.2, what="x")
    # The stale controller's change names it; every agent now holds another's grant.
    stale_change = pytest.raises(UnsafeOperation, match="fenced: controller-1 does not hold")
    with stale_change, fence.acting(_Unchecked("controller-1")):
        agents.client("a").unmark()
    stale_move = pytest.raises(UnsafeOperation, match="fenced: controller-1 does not hold")
    with stale_move, fence.acting(_Unchecked("controller-1")):
        agents.client("a").set_role(True)  # nor may it move the writes
    assert agents.client("a").status()["writer"] is False
    agents.client("a").unmark()  # a request naming nobody (a person's curl) is not fenced


class _Unchecked:
    """A holder whose own check passed (it did not notice it was paused past its term)."""

    named_to_agents = True

    def __init__(self, holder: str) -> None:
        self.holder = holder

    def confirm(self, member: str | None = None) -> None:
        return None


def test_a_forced_command_takes_it_and_the_controller_stops_before_its_next_change(
    agents: Agents,
) -> None:
    controller = fencing.Keeper(agents.platform("controller-1"), 15)
    try:
        assert controller.renew()[0]
        controller.confirm("a")
        with fencing.taken(agents.platform("x"), "rejoin", force=True) as command:
            assert not command.held  # taken at its first change, not before
            agents.client("a").unmark()  # the command's first change takes it
            assert command.held and "galeractl rejoin by" in command.holder
            with pytest.raises(LeaseLost, match=r"galeractl rejoin by .* holds the cluster's"):
                controller.confirm("a")
            agents.client("b").unmark()  # the command's changes go on
        assert holders(agents) == {"a": None, "b": None, "c": None}  # given back at the end
    finally:
        controller.stop()


def test_a_command_is_refused_while_a_controller_holds_it(agents: Agents) -> None:
    controller = agents.platform("controller-1 on vm3")
    assert controller.acquire_lease(60)[0]
    env = {**os.environ, "DB_PASSWORD": "unused"}
    result = galeractl("bootstrap", "--initialize", "--yes", "-c", str(agents.cluster), env=env)
    assert result.code != 0
    assert one_line_error(result) == (
        "galeractl: controller-1 on vm3 holds the cluster's lease: one actor at a time "
        "changes a cluster (stop that controller or wait for that command; --force takes "
        "the lease from it (it stops before its next change))"
    )
    assert holders(agents) == {n: "controller-1 on vm3" for n in ("a", "b", "c")}


def test_a_share_a_killed_command_still_holds_is_waited_for_not_a_failure(agents: Agents) -> None:
    # A command was killed: its share on "c" outlives those on "a" and "b" (its last renewal
    # reached c later). The next command holds a majority at once; before it changes c it
    # waits for that share to end instead of failing (the CI failure of a rerun bootstrap).
    agents.client("c").lease("galeractl bootstrap by root@vm (pid 1)", 2)
    waited: list[str] = []
    emit = lambda e: waited.append(e.reason)  # noqa: E731
    with fencing.taken(agents.platform("x"), "bootstrap", emit=emit) as command:
        agents.client("a").unmark()
        assert command.held and waited == []
        agents.client("c").unmark()  # waited for, then carried out under this command
        assert holders(agents)["c"] == command.holder
    assert waited == [
        "c's agent has not granted this actor its share of the lease; waiting up to 17s for "
        "it to end before changing c"
    ]
