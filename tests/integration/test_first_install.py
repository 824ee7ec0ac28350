"""A first installation, as on Kubernetes: every member starts empty in join mode and finds
nobody; `bootstrap --initialize` creates the cluster on one member with the users of its
init_file, and the others join by full SST. Once the cluster has data, --initialize can
never apply again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import events, galeractl, of
from tests.integration.conftest import SandboxHandle, _up

pytestmark = pytest.mark.cluster
NAMES = ["galera-0", "galera-1", "galera-2"]


@pytest.fixture(scope="module")
def first_install(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    """Three members formed by the first-installation path (ports from 23900)."""
    yield from _up(
        tmp_path_factory.mktemp("first"), "--nodes", "3", "--base-port", "23900", "--first-install"
    )


def test_empty_members_form_one_cluster_with_the_users_of_the_init_file(
    first_install: SandboxHandle,
) -> None:
    status = first_install.status()
    assert status["cluster"]["verdict"] == "healthy"  # read with the init_file's user
    assert len({m["cluster_state_uuid"] for m in status["members"]}) == 1
    # galera-0 was created, the others had nothing: each received a full state transfer.
    assert first_install.sandbox.full_ssts() == 2
    with first_install.writer() as writer:
        writer.wait_for_acks(50)
    check = first_install.check(writer.stats.acked)
    assert check.ok, check.message


def test_initialize_never_applies_once_the_cluster_holds_data(
    first_install: SandboxHandle,
) -> None:
    first_install.kill_all()
    result = galeractl(
        "bootstrap", "-c", str(first_install.cluster_file), "--initialize", "--yes", "-o", "json"
    )
    assert result.code == 0, result.stderr + result.stdout
    (plan,) = of(events(result), "plan")
    assert plan["action"] == "bootstrap"
    assert "highest seqno" in plan["reason"]
    first_install.wait_synced()
