"""``podrun``: a pod of the rendered StatefulSet as ``docker run`` arguments, from the
objects ``galeractl render`` produces (the container sandbox runs exactly these)."""

from __future__ import annotations

from typing import Any

import pytest

from galera.errors import InvalidInput
from galera.platforms import podrun
from galera.render import manifests

POD = podrun.Pod("galera-1", "10.9.0.11", "shop")
SOURCES = podrun.Sources(
    claims={"data": "vol-galera-1"},
    directories={"config": "/sb/config", "secrets": "/sb/secrets", "tls": "/sb/tls-secret"},
)


def _objects(**values: Any) -> dict[str, dict[str, Any]]:
    objs = manifests.objects({"networkPolicy": {"enabled": False}, **values})
    return {o["kind"]: o for o in objs if o["kind"] in ("StatefulSet", "Deployment")}


def _pairs(args: list[str], flag: str) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args) if a == flag]


def test_the_statefulsets_security_context_is_the_containers() -> None:
    args = podrun.run_args(_objects()["StatefulSet"], POD, SOURCES)
    assert _pairs(args, "--user") == ["999:999"]
    assert "--read-only" in args
    assert _pairs(args, "--cap-drop") == ["ALL"]
    assert _pairs(args, "--security-opt") == ["no-new-privileges"]
    assert _pairs(args, "--stop-timeout") == ["330"]  # agent.stopTimeout 300 + 30


def test_the_downward_api_fills_the_pods_name_ip_and_namespace() -> None:
    env = _pairs(podrun.run_args(_objects()["StatefulSet"], POD, SOURCES), "--env")
    assert env == ["POD_NAME=galera-1", "POD_IP=10.9.0.11", "POD_NAMESPACE=shop"]


def test_every_mount_has_its_source_and_emptydirs_live_with_the_container() -> None:
    volumes = _pairs(podrun.run_args(_objects()["StatefulSet"], POD, SOURCES), "--volume")
    assert volumes == [
        "vol-galera-1:/var/lib/mysql",
        "/sb/config:/etc/galeractl/config:ro",
        "/sb/secrets:/etc/galeractl/secrets:ro",
        "/sb/tls-secret:/etc/galeractl/tls:ro",
        "/run/galeractl",  # anonymous volumes: kept across a restart, gone with docker rm -v
        "/run/mysqld",
        "/tmp",
    ]


@pytest.mark.parametrize(
    ("tls", "scheme"), [(True, "https"), (False, "http")], ids=["tls", "plain"]
)
def test_the_health_check_is_the_readiness_probe(tls: bool, scheme: str) -> None:
    sts = _objects(tls={"enabled": tls})["StatefulSet"]
    args = podrun.run_args(sts, POD, SOURCES)
    (command,) = _pairs(args, "--health-cmd")
    assert f"{scheme}://127.0.0.1:8008/health/ready" in command
    assert _pairs(args, "--health-interval") == ["5s"]
    assert _pairs(args, "--health-timeout") == ["3s"]
    assert _pairs(args, "--health-retries") == ["2"]
    assert _pairs(args, "--health-start-period") == ["120s"]  # the startup probe's 2 s x 60


def test_the_command_is_the_agent_and_garbd_comes_from_the_arbitrator_deployment() -> None:
    objs = _objects(replicas=2)
    assert podrun.command(objs["StatefulSet"]) == [
        "galeractl",
        "agent",
        "--config",
        "/etc/galeractl/config/agent.yaml",
    ]
    garbd = podrun.command(objs["Deployment"], "garbd")
    assert garbd[0] == "garbd" and "gcomm://galera-0.galera-peers:4567,galera-1" in garbd[2]
    args = podrun.run_args(objs["Deployment"], POD, SOURCES, "garbd")
    assert _pairs(args, "--volume") == ["/sb/tls-secret:/etc/galeractl/tls:ro"]
    assert "--health-cmd" not in args  # garbd has a liveness probe only


def test_a_volume_without_a_source_is_refused_naming_it() -> None:
    sources = podrun.Sources(claims={"data": "v"}, directories={"config": "/c"})
    with pytest.raises(InvalidInput, match="'secrets'"):
        podrun.run_args(_objects()["StatefulSet"], POD, sources)
