"""One guard on the server options a person adds: what galeractl owns, what it forbids, and
provider options merged into galeractl's instead of replacing them."""

from __future__ import annotations

import pytest

from galera.domain import options
from galera.errors import InvalidInput
from galera.render import MemberConfig, render_member_config
from tests.unit.builders import member_config


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        pytest.param("wsrep_cluster_address", "gcomm://", "second cluster", id="cluster-address"),
        pytest.param("wsrep-cluster-address", "gcomm://", "second cluster", id="dashed"),
        pytest.param("loose_wsrep_notify_cmd", "/bin/sh", "runs a command", id="loose-prefix"),
        pytest.param("WSREP_NOTIFY_CMD", "/tmp/x.sh", "runs a command", id="upper-case"),
        pytest.param("wsrep_sst_auth", "root:pw", "a secret", id="sst-auth"),
        pytest.param("wsrep_node_name", "other", "member's name", id="node-name"),
        pytest.param("wsrep_provider", "/tmp/evil.so", "Galera library", id="provider"),
        pytest.param(
            "wsrep_provider_options", "pc.ignore_sb=true", "split brain", id="ignore-sb-inside"
        ),
        pytest.param(
            "wsrep_provider_options", "pc.weight=5; evs.x=1", "member's weight", id="weight"
        ),
        pytest.param("max_connections", "100\ninit_file=/tmp/x", "newline or NUL", id="newline"),
        pytest.param("wsrep_provider_options", "garbage", "is not NAME=VALUE", id="malformed"),
    ],
)
def test_owned_and_forbidden_server_options_are_refused(name: str, value: str, says: str) -> None:
    with pytest.raises(InvalidInput, match=f"^--set {name}|^--set wsrep_provider_options") as e:
        options.check({name: value}, "--set ")
    assert says in e.value.message


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("pc.ignore_quorum", "minority"),
        ("pc.bootstrap", "one-shot mark"),
        ("gmcast.listen_addr", "address and port"),
        ("ist.recv_addr", "IST port"),
        ("socket.ssl_key", "certificates"),
        ("PC.IGNORE_SB", "split brain"),
    ],
)
def test_owned_and_forbidden_provider_options_are_refused(name: str, says: str) -> None:
    with pytest.raises(InvalidInput, match=f"^providerOptions.{name}: not allowed: .*{says}"):
        options.check_provider({name: "x"}, "providerOptions.")


def test_ordinary_options_pass() -> None:
    assert options.check({"max_connections": "500", "wsrep_slave_threads": "4"}) is None
    provider = {"wsrep_provider_options": "evs.suspect_timeout=PT10S; gcs.fc_limit=64"}
    assert options.check(provider) is None
    assert options.check_provider({"evs.suspect_timeout": "PT10S", "gcache.recover": "yes"}) is None


def member(**changes: object) -> MemberConfig:
    return member_config(weight=2, **changes)


def test_provider_options_merge_into_galeractls_and_keep_the_weight() -> None:
    config = member(
        provider_options={"gcs.fc_limit": "32"},
        extra={"wsrep_provider_options": "evs.suspect_timeout=PT10S", "max_connections": "50"},
    )
    text = render_member_config(config)
    lines = [line for line in text.splitlines() if line.startswith("wsrep_provider_options")]
    assert len(lines) == 1  # one line: nothing replaces galeractl's
    (line,) = lines
    for part in ("pc.weight=2", "gmcast.listen_addr=", "ist.recv_addr=", "gcs.fc_limit=32"):
        assert part in line
    assert "evs.suspect_timeout=PT10S" in line
    assert "max_connections" in text


def provider_line(config: MemberConfig) -> dict[str, str]:
    text = render_member_config(config)
    (line,) = [x for x in text.splitlines() if x.startswith("wsrep_provider_options")]
    return options.parse_provider(line.partition("=")[2].strip().strip('"'))


def test_members_in_one_site_get_the_one_site_membership_timers() -> None:
    rendered = provider_line(member())
    assert rendered["evs.keepalive_period"] == "PT0.1S"
    assert rendered["evs.join_retrans_period"] == "PT0.2S"


def test_a_person_s_timers_win_over_the_one_site_ones() -> None:
    rendered = provider_line(
        member(
            provider_options={"evs.keepalive_period": "PT1S"},
            extra={"wsrep_provider_options": "evs.join_retrans_period=PT0.5S"},
        )
    )
    assert rendered["evs.keepalive_period"] == "PT1S"
    assert rendered["evs.join_retrans_period"] == "PT0.5S"


@pytest.mark.parametrize("segment", ["0", "2"])
def test_a_member_naming_its_segment_keeps_galera_s_wan_timers(segment: str) -> None:
    for config in (
        member(provider_options={"gmcast.segment": segment}),
        member(extra={"wsrep_provider_options": f"gmcast.segment={segment}"}),
    ):
        rendered = provider_line(config)
        assert rendered["gmcast.segment"] == segment
        assert "evs.keepalive_period" not in rendered
        assert "evs.join_retrans_period" not in rendered


def test_every_member_config_takes_the_guard() -> None:
    """The agent's configuration and its option overrides (/v1/config) are MemberConfigs."""
    with pytest.raises(InvalidInput, match=r"^extra\.wsrep_notify_cmd: not allowed"):
        member(extra={"wsrep_notify_cmd": "/bin/true"})
    with pytest.raises(InvalidInput, match=r"^provider_options\.pc\.bootstrap: not allowed"):
        member(provider_options={"pc.bootstrap": "yes"})


@pytest.mark.parametrize(
    ("name", "says"),
    [
        pytest.param("wsrep_notify_cmd=/bin/touch /tmp/pwn #", "not an option name", id="equals"),
        pytest.param("x = 1\nwsrep_notify_cmd", "not an option name", id="newline-in-name"),
        pytest.param("enable-wsrep-new-cluster", "one-shot mark", id="enable-prefix"),
        pytest.param("loose-skip-wsrep-on", "Galera on", id="loose-skip"),
        pytest.param("loose-loose-wsrep-notify-cmd", "runs a command", id="loose-twice"),
        pytest.param("maximum-wsrep-provider", "Galera library", id="maximum-prefix"),
        pytest.param("wsrep-notify-cm", "reads it as wsrep_notify_cmd", id="unique-prefix"),
        pytest.param(
            "wsrep-cluster-addr", "reads it as wsrep_cluster_address", id="unique-prefix-2"
        ),
        pytest.param("skip-grant-tables", "privilege check", id="skip-grant-tables"),
        pytest.param("plugin_load_add", "loads code", id="plugin-load"),
        pytest.param("log_error", "error log", id="log-error"),
    ],
)
def test_names_are_read_as_mariadbd_reads_them(name: str, says: str) -> None:
    with pytest.raises(InvalidInput) as e:
        options.check({name: "1"}, "--set ")
    assert says in e.value.message


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        pytest.param(
            "gcache.name=/x;pc.ignore_sb", "true", "not a provider option name", id="semi"
        ),
        pytest.param("evs.x", "1;pc.ignore_sb=true", "may not contain", id="semicolon-in-value"),
        pytest.param("evs.x", '"1"', "may not contain", id="quote"),
    ],
)
def test_provider_names_and_values_cannot_carry_another_option(
    name: str, value: str, says: str
) -> None:
    with pytest.raises(InvalidInput) as e:
        options.check_provider({name: value})
    assert says in e.value.message


def test_layers_merge_provider_options_entry_by_entry() -> None:
    result = options.merged(
        {"wsrep_provider_options": "evs.suspect_timeout=PT10S", "max_connections": "100"},
        {"wsrep-provider-options": "gcs.fc_limit=64"},
        {"max_connections": "200"},
    )
    assert result == {
        "max_connections": "200",
        "wsrep_provider_options": "evs.suspect_timeout=PT10S; gcs.fc_limit=64",
    }


def test_persisted_overrides_the_guard_refuses_are_set_aside_not_fatal() -> None:
    kept, refused = options.accepted({"max_connections": "50", "wsrep_notify_cmd": "/bin/x"})
    assert kept == {"max_connections": "50"}
    assert len(refused) == 1 and "wsrep_notify_cmd" in refused[0]
