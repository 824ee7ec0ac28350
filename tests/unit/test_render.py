"""render_member_config and MemberConfig validation."""

from __future__ import annotations

import configparser

import pytest

from galera.errors import InvalidInput
from galera.render import MemberConfig, render_member_config
from tests.unit.builders import member_config

SECRETS = "/etc/galera/secrets.cnf"


def settings(text: str, section: str = "mysqld") -> configparser.SectionProxy:
    """The rendered file read as an option file; strict: a repeated key is an error."""
    parser = configparser.ConfigParser(allow_no_value=True, interpolation=None, strict=True)
    parser.read_string(text)
    return parser[section]


@pytest.mark.parametrize(
    ("config", "key", "value"),
    [
        (
            member_config(),
            "wsrep_cluster_address",
            "gcomm://10.0.0.10:4567,10.0.0.11:4567,10.0.0.12:4567",
        ),
        (member_config(peers=("db-1:4567",)), "wsrep_cluster_address", "gcomm://db-1:4567"),
        (member_config(), "wsrep_node_name", "galera-0"),
        (member_config(), "wsrep_cluster_name", "prod"),
        (member_config(), "wsrep_on", "ON"),
        (member_config(), "binlog_format", "ROW"),
        (member_config(), "innodb_autoinc_lock_mode", "2"),
        (member_config(port=3307), "port", "3307"),
        (member_config(galera_port=5567), "wsrep_node_address", "10.0.0.10:5567"),
        (member_config(port=3307), "wsrep_node_incoming_address", "10.0.0.10:3307"),
        (member_config(sst_port=5444), "wsrep_sst_receive_address", "10.0.0.10:5444"),
        (member_config(sst_method="rsync"), "wsrep_sst_method", "rsync"),
        (member_config(applier_threads=8), "wsrep_slave_threads", "8"),
        (member_config(user="mysql"), "user", "mysql"),
        (member_config(small=True), "performance_schema", "OFF"),
        (member_config(extra={"max_allowed_packet": "64M"}), "max_allowed_packet", "64M"),
    ],
    ids=[
        "cluster-address",
        "single-peer",
        "node-name",
        "cluster-name",
        "wsrep-on",
        "row-binlog",
        "autoinc-lock-mode",
        "port",
        "node-address-uses-galera-port",
        "incoming-address-uses-sql-port",
        "sst-receive-address",
        "sst-method",
        "applier-threads",
        "user",
        "small",
        "extra-setting",
    ],
)
def test_rendered_config_sets(config: MemberConfig, key: str, value: str) -> None:
    assert settings(render_member_config(config))[key] == value


@pytest.mark.parametrize(
    ("config", "parts"),
    [
        (member_config(), ["pc.weight=1", "gcache.size=128M", "ist.recv_addr=10.0.0.10:4568"]),
        (member_config(weight=2), ["pc.weight=2"]),
        (member_config(weight=0), ["pc.weight=0"]),
        (
            member_config(listen_address="10.0.0.10", galera_port=5567),
            ["gmcast.listen_addr=tcp://10.0.0.10:5567"],
        ),
        (
            member_config(provider_options={"evs.suspect_timeout": "PT5S"}),
            ["evs.suspect_timeout=PT5S"],
        ),
    ],
    ids=["defaults", "weight-2", "weight-0", "listen-address", "extra-provider-option"],
)
def test_provider_options_carry_the_weight(config: MemberConfig, parts: list[str]) -> None:
    options = settings(render_member_config(config))["wsrep_provider_options"]
    assert options.startswith('"') and options.endswith('"')
    assert set(parts) <= {p.strip() for p in options.strip('"').split(";")}


@pytest.mark.parametrize(
    ("config", "absent"),
    [(member_config(), "user"), (member_config(), "performance_schema")],
    ids=["no-user", "not-small"],
)
def test_optional_settings_are_left_out_by_default(config: MemberConfig, absent: str) -> None:
    assert absent not in settings(render_member_config(config))


@pytest.mark.parametrize("secrets_file", ["", SECRETS], ids=["without-secrets", "with-secrets"])
def test_sst_auth_never_appears_in_the_rendered_text(secrets_file: str) -> None:
    text = render_member_config(member_config(secrets_file=secrets_file))
    assert "wsrep_sst_auth" not in text


@pytest.mark.parametrize(
    ("secrets_file", "last_line"),
    [(SECRETS, f"!include {SECRETS}"), ("", "[sst]")],
    ids=["with-secrets", "without-secrets"],
)
def test_secrets_file_is_included_at_the_end(secrets_file: str, last_line: str) -> None:
    text = render_member_config(member_config(secrets_file=secrets_file, sst_method="rsync"))
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines[-1] == last_line
    assert ("!include" in text) is bool(secrets_file)


@pytest.mark.parametrize(
    ("method", "socat"),
    [("mariabackup", True), ("rsync", False), ("mysqldump", False)],
    ids=["mariabackup-uses-socat", "rsync", "mysqldump"],
)
def test_socat_transfer_format_only_for_mariabackup(method: str, socat: bool) -> None:
    sst = settings(render_member_config(member_config(sst_method=method)), "sst")
    assert (sst.get("transferfmt") == "socat") is socat


@pytest.mark.parametrize("key", ["wsrep_sst_auth", "wsrep-sst-auth", "WSREP_SST_AUTH"])
def test_every_member_config_refuses_the_sst_secret_in_extra(key: str) -> None:
    """Also what the agent's option overrides go through, not only its configuration file."""
    with pytest.raises(InvalidInput, match=r"^extra\.\S+: not allowed: a secret: it belongs in"):
        member_config(extra={key: "root:secret"})
