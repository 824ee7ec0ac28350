"""The agent's configuration: a valid mapping, and every bad key named in the error."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from galera.agent.server import Agent
from galera.agent.supervisor import Supervisor
from galera.config import load_schema
from galera.config.agent import RESTART_POLICIES, RUN_MODES, START_MODES, AgentConfig, load, parse
from galera.domain.health import HealthPolicy
from galera.errors import InvalidInput
from galera.render import MemberConfig
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
        (
            agent_data(listen="8080"),
            f"{PATH}: listen: must be HOST:PORT with a port from 1 to 65535 (got '8080')",
        ),
        (
            agent_data(listen=8080),
            f"{PATH}: listen: must be HOST:PORT with a port from 1 to 65535 (got 8080)",
        ),
        (agent_data(listen="host:http"), "listen: must be HOST:PORT"),
        (agent_data(listen="host:0"), "listen: must be HOST:PORT"),
        (agent_data(listen="host:65536"), "listen: must be HOST:PORT"),
        (agent_data(listen="host:-1"), "listen: must be HOST:PORT"),
        (agent_data(listen="host:"), "listen: must be HOST:PORT"),
        (agent_data(start="new-cluster"), "start: must be one of join, none (got 'new-cluster')"),
        (agent_data(start="bootstrap"), "start: must be one of join, none (got 'bootstrap')"),
        (agent_data(start="JOIN"), "start: must be one of join, none (got 'JOIN')"),
        (
            agent_data(restart="sometimes"),
            "restart: must be one of always, on-failure, never (got 'sometimes')",
        ),
        (
            agent_data(restart="on_failure"),
            "restart: must be one of always, on-failure, never (got 'on_failure')",
        ),
        (agent_data(server="gcomm://a"), f"{PATH}: server: must be a mapping"),
        (
            agent_data(server={**agent_data()["server"], "gcache": "1G"}),
            "server.gcache: unknown key; allowed: name, cluster_name, datadir",
        ),
        (
            agent_data(server={**agent_data()["server"], "weight": 300}),
            f"{PATH}: server.weight: must be an integer from 0 to 255 (got 300)",
        ),
        (agent_data(server={"cluster_name": "prod"}), f"{PATH}: server.datadir: is required"),
        (
            agent_data(health={"donor": True}),
            f"{PATH}: health.donor: unknown key; allowed: donor_ok, require_writable",
        ),
        (agent_data(health=["donor_ok"]), f"{PATH}: health: must be a mapping with donor_ok and"),
        (
            agent_data(stop_timeout=0),
            f"{PATH}: stop_timeout: must be a number of seconds above 0 (got 0)",
        ),
        (agent_data(stop_timeout=-5), "stop_timeout: must be a number of seconds above 0 (got -5)"),
        (
            agent_data(stop_timeout="60"),
            "stop_timeout: must be a number of seconds above 0 (got '60')",
        ),
        (
            agent_data(stop_timeout=True),
            "stop_timeout: must be a number of seconds above 0 (got True)",
        ),
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
    with pytest.raises(InvalidInput, match=r"^token_file: cannot read .*nope: "):
        config.token()


def test_listen_port_with_a_superscript_digit_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="listen: must be HOST:PORT"):
        parse(agent_data(listen="0.0.0.0:²"), PATH)


def test_health_flag_must_be_a_boolean() -> None:
    with pytest.raises(InvalidInput, match="health"):
        parse(agent_data(health={"donor_ok": "false"}), PATH)


def server(**changes: Any) -> dict[str, Any]:
    """The valid ``server`` section with ``changes`` (None drops a key)."""
    values = {**agent_data()["server"], **changes}
    return {k: v for k, v in values.items() if v is not None}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"port": 0}, "server.port: must be an integer from 1 to 65535 (got 0)"),
        ({"port": 65536}, "server.port: must be an integer from 1 to 65535 (got 65536)"),
        ({"port": "3306"}, "server.port: must be an integer from 1 to 65535 (got '3306')"),
        ({"port": True}, "server.port: must be an integer from 1 to 65535 (got True)"),
        ({"port": 3306.0}, "server.port: must be an integer from 1 to 65535 (got 3306.0)"),
        ({"galera_port": 70000}, "server.galera_port: must be an integer from 1 to 65535"),
        ({"ist_port": -1}, "server.ist_port: must be an integer from 1 to 65535"),
        ({"sst_port": 0}, "server.sst_port: must be an integer from 1 to 65535"),
        ({"weight": -1}, "server.weight: must be an integer from 0 to 255 (got -1)"),
        ({"weight": "2"}, "server.weight: must be an integer from 0 to 255 (got '2')"),
        (
            {"sst_method": "xtrabackup"},
            "server.sst_method: must be one of mariabackup, rsync, mysqldump (got 'xtrabackup')",
        ),
        ({"peers": []}, "server.peers: must be a non-empty list of HOST:PORT peer addresses"),
        ({"peers": "10.0.0.10:4567,10.0.0.11:4567"}, "server.peers: must be a non-empty list"),
        ({"nmae": "x"}, "server.nmae: unknown key; allowed: name, cluster_name, datadir"),
        ({"datadir": None}, "server.datadir: is required"),
        (
            {"extra": {"wsrep_sst_auth": "root:secret"}},
            "server.extra.wsrep_sst_auth: not allowed: a secret: it belongs in the secrets file",
        ),
    ],
    ids=[
        "port-0",
        "port-65536",
        "port-string",
        "port-bool",
        "port-float",
        "galera-port",
        "ist-port",
        "sst-port",
        "weight-negative",
        "weight-string",
        "unknown-sst-method",
        "no-peers",
        "peers-as-one-string",
        "unknown-key",
        "missing-datadir",
        "sst-secret-in-extra",
    ],
)
def test_bad_server_setting_names_the_key(changes: dict[str, Any], expected: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse(agent_data(server=server(**changes)), PATH)
    assert str(raised.value).startswith(f"{PATH}: server.")
    assert expected in str(raised.value)
    assert "root:secret" not in str(raised.value)


def test_the_server_section_takes_every_member_config_field() -> None:
    """Every field but those the agent sets itself (secure_file_priv: a directory of its own)."""
    properties = load_schema("agent")["definitions"]["server"]["properties"]
    own = {"secure_file_priv", "tls_ca", "tls_cert", "tls_key"}  # tls: from the top level
    assert list(properties) == [
        f.name for f in dataclasses.fields(MemberConfig) if f.name not in own
    ]


def test_the_schema_allows_the_start_modes_and_restart_policies() -> None:
    properties = load_schema("agent")["properties"]
    assert tuple(properties["start"]["enum"]) == START_MODES
    assert tuple(properties["restart"]["enum"]) == RESTART_POLICIES


def test_the_server_peer_list_becomes_a_tuple() -> None:
    config = parse(agent_data(), PATH)
    assert config.server.peers == ("10.0.0.10:4567", "10.0.0.11:4567")


def test_empty_token_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("  \n")
    config = parse(agent_data(token_file="token"), tmp_path / "agent.yaml")
    with pytest.raises(InvalidInput, match=r"^token_file: .*token is empty$"):
        config.token()


def test_token_variable_wins_over_the_token_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GALERACTL_UNIT_AGENT_TOKEN", " from-env\n")
    config = parse(
        agent_data(token_file="nope", token_env="GALERACTL_UNIT_AGENT_TOKEN"),
        tmp_path / "agent.yaml",
    )
    assert config.token() == "from-env"


def test_invalid_yaml_is_one_line_naming_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text("name: a\nlisten: [\n")
    with pytest.raises(InvalidInput, match=rf"^{path} line 3: not valid YAML: "):
        load(path)


def test_tls_files_are_reloaded_with_the_admin_account_when_its_file_exists(
    tmp_path: Path,
) -> None:
    """On Kubernetes admin.cnf is optional in the Secret: without it the monitoring account
    reloads (and needs RELOAD and SUPER); with it, the monitoring account keeps USAGE."""
    (tmp_path / "client.cnf").write_text("[client]\nuser = monitor\npassword = m\n")
    data = agent_data(credentials_file="client.cnf", admin_credentials_file="admin.cnf")
    config = parse(data, tmp_path / "agent.yaml")
    assert config.admin_credentials_file == tmp_path / "admin.cnf"
    agent = Agent(config, Supervisor(config))
    assert agent.admin_credentials().user == "monitor"
    (tmp_path / "admin.cnf").write_text("[client]\nuser = operator\npassword = o\n")
    assert agent.admin_credentials().user == "operator"
    assert agent.credentials().user == "monitor"
