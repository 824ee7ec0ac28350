"""The agent's configuration: a valid mapping, and every bad key named in the error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from galera.agent.config import RUN_MODES, START_MODES, AgentConfig, parse
from galera.domain.health import HealthPolicy
from galera.errors import InvalidInput
from tests.unit.builders import agent_data

PATH = Path("/etc/galeractl/agent.yaml")


def test_valid_config_gives_a_typed_agent_config() -> None:
    config = parse(agent_data(), PATH)
    assert config.name == "galera-0"
    assert (config.listen_host, config.listen_port) == ("0.0.0.0", 8080)
    assert config.token_file == PATH.parent / "token"
    assert config.token_env is None
    assert (config.start, config.restart, config.stop_timeout) == ("join", "on-failure", 60.0)
    assert config.health == HealthPolicy(donor_ok=True, require_writable=False)
    assert config.rundir == Path("/var/lib/galera/galera-0")
    assert config.config_file == Path("/var/lib/galera/galera-0/my.cnf")
    assert config.server.name == "galera-0"
    assert config.server.peers == ("10.0.0.10:4567", "10.0.0.11:4567")
    assert config.mariadbd == "/usr/sbin/mariadbd"


def test_minimal_config_takes_defaults() -> None:
    data = {key: agent_data()[key] for key in ("name", "listen", "server")}
    config = parse(data, PATH)
    assert (config.start, config.restart, config.stop_timeout) == ("join", "always", 120.0)
    assert config.health == HealthPolicy()
    assert config.token_file is config.credentials_file is None


@pytest.mark.parametrize(
    ("listen", "host", "port"),
    [
        ("127.0.0.1:9000", "127.0.0.1", 9000),
        (":8080", "0.0.0.0", 8080),
        ("agent.internal:1", "agent.internal", 1),
        ("0.0.0.0:65535", "0.0.0.0", 65535),
    ],
    ids=["address", "empty-host-means-all", "hostname-port-1", "port-65535"],
)
def test_listen_is_host_and_port(listen: str, host: str, port: int) -> None:
    config = parse(agent_data(listen=listen), PATH)
    assert (config.listen_host, config.listen_port) == (host, port)


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        ({"rundir": "run"}, "rundir", PATH.parent / "run"),
        ({"rundir": "/srv/galera"}, "config_file", Path("/srv/galera/my.cnf")),
        ({"config_file": "my.cnf"}, "config_file", PATH.parent / "my.cnf"),
        (
            {"credentials_file": "/etc/galeractl/client.cnf"},
            "credentials_file",
            PATH.parent / "client.cnf",
        ),
        ({"token_file": ""}, "token_file", None),
        ({"start": "none"}, "start", "none"),
        ({"restart": "never"}, "restart", "never"),
        ({"restart": "always"}, "restart", "always"),
        ({"stop_timeout": 0.5}, "stop_timeout", 0.5),
        ({"health": {"require_writable": True}}, "health", HealthPolicy(False, True)),
        ({"health": None}, "health", HealthPolicy()),
    ],
    ids=[
        "relative-rundir",
        "config-file-in-rundir",
        "relative-config-file",
        "absolute-credentials-file",
        "empty-token-file-is-none",
        "start-none",
        "restart-never",
        "restart-always",
        "fractional-stop-timeout",
        "require-writable",
        "null-health",
    ],
)
def test_optional_settings(changes: dict[str, Any], field: str, expected: object) -> None:
    assert getattr(parse(agent_data(**changes), PATH), field) == expected


def test_new_cluster_is_a_run_mode_but_never_a_start_mode() -> None:
    assert "new-cluster" in RUN_MODES
    assert "new-cluster" not in START_MODES


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (["galera-0"], f"{PATH}: agent config must be a mapping"),
        (None, f"{PATH}: agent config must be a mapping"),
        (agent_data(listne="0.0.0.0:8080"), f"{PATH}: listne: unknown key; allowed: name"),
        (agent_data(name=None), f"{PATH}: name: is required"),
        (agent_data(listen=None), f"{PATH}: listen: is required"),
        (agent_data(server=None), f"{PATH}: server: is required"),
        (agent_data(listen="8080"), f"{PATH}: listen: expected HOST:PORT, got '8080'"),
        (agent_data(listen=8080), f"{PATH}: listen: expected HOST:PORT, got 8080"),
        (agent_data(listen="host:http"), "listen: expected HOST:PORT"),
        (agent_data(listen="host:0"), "listen: expected HOST:PORT"),
        (agent_data(listen="host:65536"), "listen: expected HOST:PORT"),
        (agent_data(listen="host:-1"), "listen: expected HOST:PORT"),
        (agent_data(listen="host:"), "listen: expected HOST:PORT"),
        (agent_data(start="new-cluster"), "start: 'new-cluster' is not one of join, none"),
        (agent_data(start="bootstrap"), "start: 'bootstrap' is not one of join, none"),
        (agent_data(start="JOIN"), "start: 'JOIN' is not one of join, none"),
        (agent_data(restart="sometimes"), "restart: 'sometimes' is not one of always, on-failure"),
        (agent_data(restart="on_failure"), "restart: 'on_failure' is not one of"),
        (agent_data(server="gcomm://a"), f"{PATH}: server: must be a mapping"),
        (
            agent_data(server={**agent_data()["server"], "gcache": "1G"}),
            "server: unknown key 'gcache'",
        ),
        (
            agent_data(server={**agent_data()["server"], "weight": 300}),
            f"{PATH}: weight: must be an integer from 0 to 255",
        ),
        (agent_data(server={"cluster_name": "prod"}), f"{PATH}: server: "),
        (agent_data(health={"donor": True}), f"{PATH}: health: allowed keys are donor_ok"),
        (agent_data(health=["donor_ok"]), f"{PATH}: health: allowed keys are donor_ok"),
        (agent_data(stop_timeout=0), f"{PATH}: stop_timeout: must be seconds above 0, got 0"),
        (agent_data(stop_timeout=-5), "stop_timeout: must be seconds above 0"),
        (agent_data(stop_timeout="60"), "stop_timeout: must be seconds above 0, got '60'"),
        (agent_data(stop_timeout=True), "stop_timeout: must be seconds above 0, got True"),
    ],
    ids=[
        "list",
        "null",
        "unknown-key",
        "missing-name",
        "missing-listen",
        "missing-server",
        "listen-without-host",
        "listen-as-number",
        "listen-port-word",
        "listen-port-0",
        "listen-port-65536",
        "listen-port-negative",
        "listen-port-empty",
        "start-new-cluster-not-allowed",
        "start-bootstrap",
        "start-upper-case",
        "restart-sometimes",
        "restart-underscore",
        "server-not-a-mapping",
        "server-unknown-key",
        "server-bad-weight",
        "server-missing-keys",
        "health-unknown-key",
        "health-not-a-mapping",
        "stop-timeout-zero",
        "stop-timeout-negative",
        "stop-timeout-string",
        "stop-timeout-bool",
    ],
)
def test_bad_config_names_the_key(data: Any, expected: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse(data, PATH)
    assert expected in str(raised.value)


def test_token_is_read_from_the_token_file(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("s3cret-token\n")
    config = parse(agent_data(token_file="token"), tmp_path / "agent.yaml")
    assert isinstance(config, AgentConfig)
    assert config.token() == "s3cret-token"


def test_missing_token_file_is_invalid_input(tmp_path: Path) -> None:
    config = parse(agent_data(token_file="nope"), tmp_path / "agent.yaml")
    with pytest.raises(InvalidInput, match=r"token_file .*nope"):
        config.token()


def test_listen_port_with_a_superscript_digit_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="listen: expected HOST:PORT"):
        parse(agent_data(listen="0.0.0.0:²"), PATH)


def test_health_flag_must_be_a_boolean() -> None:
    with pytest.raises(InvalidInput, match="health"):
        parse(agent_data(health={"donor_ok": "false"}), PATH)
