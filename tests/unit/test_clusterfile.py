"""The cluster file: a valid file, and every bad input naming the bad key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from galera.config.clusterfile import ClusterSpec, MemberSpec, dump, load, parse
from galera.domain.credentials import Credentials
from galera.domain.snapshot import ExpectedMember
from galera.errors import InvalidInput
from tests.unit.builders import cluster_data, cluster_yaml, with_member

PATH = Path("/etc/galeractl/prod.yaml")
UNSET_VARIABLE = "GALERACTL_UNIT_TEST_PASSWORD_THAT_IS_NEVER_SET"


def test_valid_file_gives_a_typed_spec() -> None:
    spec = parse(cluster_yaml(), PATH)
    assert spec.name == "prod"
    assert spec.names == ("db-0", "db-1", "garbd")
    assert spec.members == (
        MemberSpec("db-0", "10.0.0.10", 3306, "http://10.0.0.10:8080", 1),
        MemberSpec("db-1", "10.0.0.11", 3306, "", 2),
        MemberSpec("garbd", "", 0, "", 1, arbitrator=True),
    )
    assert spec.credentials_file == PATH.parent / "client.cnf"
    assert (spec.user, spec.password_env) == (None, None)
    assert spec.token_env == "GALERACTL_TOKEN"
    assert spec.token_file is None
    assert (spec.connect_timeout, spec.read_timeout) == (1.5, 4.0)
    assert spec.member("db-1").expected == ExpectedMember("db-1", 2, False)
    assert spec.member("garbd").expected == ExpectedMember("garbd", 1, True)


def test_minimal_file_takes_defaults() -> None:
    text = (
        "credentials: {user: monitor, password_env: DB_PASSWORD}\nmembers: [{name: a, host: h}]\n"
    )
    spec = parse(text, PATH)
    assert spec.name == "galera"
    assert (spec.user, spec.password_env, spec.credentials_file) == ("monitor", "DB_PASSWORD", None)
    assert spec.members == (MemberSpec("a", "h"),)
    assert (spec.connect_timeout, spec.read_timeout) == (2.0, 5.0)
    assert spec.token_file is spec.token_env is None
    assert spec.sandbox == {}


@pytest.mark.parametrize(
    ("value", "expected"),
    [("client.cnf", PATH.parent / "client.cnf"), ("/srv/client.cnf", Path("/srv/client.cnf"))],
    ids=["relative-to-the-cluster-file", "absolute"],
)
def test_credentials_file_is_anchored_at_the_cluster_file(value: str, expected: Path) -> None:
    assert parse(cluster_yaml(credentials={"file": value}), PATH).credentials_file == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (cluster_yaml(nmae="x"), "nmae: unknown key; allowed: name, credentials"),
        (cluster_yaml(members=with_member(0, hots="x")), "members[0].hots: unknown key"),
        (cluster_yaml(members=None), "members: is required"),
        (cluster_yaml(members=[]), "members: must be a non-empty list"),
        (cluster_yaml(members={"db-0": {}}), "members: must be a non-empty list"),
        (cluster_yaml(members=["db-0"]), "members[0]: must be a mapping"),
        (cluster_yaml(members=with_member(0, name=None)), "members[0].name: is required"),
        (
            cluster_yaml(members=with_member(0, name="DB_0")),
            "members[0].name: must be a member name of lower-case letters, digits, '-' and '.'",
        ),
        (cluster_yaml(members=with_member(0, name="")), "members[0].name: must be a member name"),
        (
            cluster_yaml(members=with_member(1, name="db-0")),
            "members[1].name: 'db-0' appears twice",
        ),
        (cluster_yaml(members=with_member(0, host=None)), "members[0].host: is required"),
        (cluster_yaml(members=with_member(0, host=" ")), "members[0].host: must be a non-empty"),
        (cluster_yaml(members=with_member(0, port=70000)), "members[0].port: must be an integer"),
        (cluster_yaml(members=with_member(0, port=0)), "members[0].port: must be an integer"),
        (cluster_yaml(members=with_member(0, port="3306")), "members[0].port: must be an integer"),
        (cluster_yaml(members=with_member(0, port=True)), "members[0].port: must be an integer"),
        (cluster_yaml(members=with_member(1, weight=300)), "members[1].weight: must be an integer"),
        (cluster_yaml(members=with_member(1, weight=-1)), "members[1].weight: must be an integer"),
        (cluster_yaml(members=with_member(1, weight=1.5)), "members[1].weight: must be an integer"),
        (cluster_yaml(members=with_member(2, weight=256)), "members[2].weight: must be an integer"),
        (
            cluster_yaml(members=with_member(0, agent="ftp://h")),
            "members[0].agent: must be an http",
        ),
        (cluster_yaml(members=with_member(0, agent="10.0.0.1:80")), "members[0].agent: must be"),
        (cluster_yaml(members=with_member(0, agent="http://")), "members[0].agent: must be"),
        (
            cluster_yaml(members=with_member(2, arbitrator="yes")),
            "members[2].arbitrator: must be true or false (got 'yes')",
        ),
        (cluster_yaml(credentials=None), "credentials: is required"),
        (
            cluster_yaml(credentials="client.cnf"),
            "credentials: must be {file: PATH} or {user: U, password_env: VAR} (got 'client.cnf')",
        ),
        (
            cluster_yaml(credentials={"file": "c.cnf", "user": "u"}),
            "credentials: give either file, or user and password_env, not both",
        ),
        (cluster_yaml(credentials={"file": "c", "pasword_env": "P"}), "credentials.pasword_env"),
        (cluster_yaml(credentials={"user": "u"}), "credentials.password_env: is required (the"),
        (cluster_yaml(credentials={"password_env": "P"}), "credentials.user: is required (a user"),
        (cluster_yaml(credentials={"file": ""}), "credentials.file: must be a non-empty"),
        (
            cluster_yaml(members=[{"name": "garbd", "arbitrator": True}]),
            "members: needs at least one data member (not only arbitrators)",
        ),
        (cluster_yaml(agent={"token": "x"}), "agent.token: unknown key"),
        (cluster_yaml(agent="secret"), "agent: must be a mapping"),
        (cluster_yaml(timeouts={"connect": 0}), "timeouts.connect: must be a number of seconds"),
        (cluster_yaml(timeouts={"read": "5s"}), "timeouts.read: must be a number of seconds"),
        (cluster_yaml(timeouts={"connect": True}), "timeouts.connect: must be a number"),
        (cluster_yaml(timeouts={"write": 1}), "timeouts.write: unknown key"),
        (cluster_yaml(sandbox=["x"]), "sandbox: must be a mapping"),
        (cluster_yaml(name=""), "name: must be a non-empty string"),
        ("- db-0\n- db-1\n", "must be a mapping with at least 'members'"),
        ("", "must be a mapping with at least 'members'"),
    ],
    ids=[
        "unknown-top-key",
        "unknown-member-key",
        "missing-members",
        "empty-members",
        "members-not-a-list",
        "member-not-a-mapping",
        "member-without-name",
        "bad-member-name",
        "empty-member-name",
        "duplicate-names",
        "missing-host",
        "blank-host",
        "port-too-high",
        "port-zero",
        "port-as-string",
        "port-as-bool",
        "weight-300",
        "weight-negative",
        "weight-float",
        "arbitrator-weight-256",
        "agent-not-http",
        "agent-without-scheme",
        "agent-without-host",
        "arbitrator-not-bool",
        "missing-credentials",
        "credentials-not-a-mapping",
        "both-file-and-user",
        "unknown-credentials-key",
        "user-without-password-env",
        "password-env-without-user",
        "empty-credentials-file",
        "only-arbitrators",
        "unknown-agent-key",
        "agent-not-a-mapping",
        "zero-timeout",
        "timeout-with-unit",
        "timeout-bool",
        "unknown-timeout",
        "sandbox-not-a-mapping",
        "empty-cluster-name",
        "top-level-list",
        "empty-file",
    ],
)
def test_bad_cluster_file_names_the_bad_key(text: str, expected: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse(text, PATH)
    assert str(raised.value).startswith(f"{PATH}: ")
    assert expected in str(raised.value)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("name: prod\nmembers: [\n", 3),
        ("name: prod\nmembers:\n  - {name: a, host: b\ncredentials: x\n", 4),
        ("a: b\n  c: d\n", 2),
        ("\tname: x\n", 1),
    ],
    ids=["unclosed-list", "unclosed-flow-mapping", "bad-indent", "tab"],
)
def test_invalid_yaml_names_the_line(text: str, line: int) -> None:
    with pytest.raises(InvalidInput, match=rf"^{PATH} line {line}: not valid YAML: "):
        parse(text, PATH)


def test_unknown_member_error_lists_the_known_ones() -> None:
    spec = parse(cluster_yaml(), PATH)
    with pytest.raises(InvalidInput) as raised:
        spec.member("nope")
    assert str(raised.value) == f"unknown member 'nope'; {PATH} has db-0, db-1, garbd"


def test_unset_password_variable_is_named() -> None:
    assert UNSET_VARIABLE not in os.environ
    spec = ClusterSpec(PATH, "prod", (MemberSpec("a", "h"),), user="u", password_env=UNSET_VARIABLE)
    with pytest.raises(InvalidInput) as raised:
        spec.credentials()
    assert str(raised.value) == (
        f"credentials.password_env: environment variable {UNSET_VARIABLE} is not set"
    )


def test_credentials_file_is_read_relative_to_the_cluster_file(tmp_path: Path) -> None:
    (tmp_path / "client.cnf").write_text("[client]\nuser=monitor\npassword=s3cret\n")
    spec = parse(cluster_yaml(), tmp_path / "cluster.yaml")
    assert spec.credentials() == Credentials("monitor", "s3cret")


@pytest.mark.parametrize(
    ("credentials", "secret"),
    [(Credentials("monitor", "hunter2"), "hunter2"), (Credentials("u", "p@ss word"), "p@ss word")],
    ids=["plain", "with-space"],
)
def test_credentials_repr_hides_the_password(credentials: Credentials, secret: str) -> None:
    assert secret not in repr(credentials)
    assert secret not in str(credentials)
    assert credentials.user in repr(credentials)


@pytest.mark.parametrize(
    ("token_text", "expected"),
    [("abc123\n", "abc123"), ("  padded  ", "padded")],
    ids=["trailing-newline", "padded"],
)
def test_agent_token_is_read_from_the_token_file(
    tmp_path: Path, token_text: str, expected: str
) -> None:
    (tmp_path / "token").write_text(token_text)
    spec = parse(cluster_yaml(agent={"token_file": "token"}), tmp_path / "cluster.yaml")
    assert spec.agent_token() == expected


def test_missing_token_file_is_invalid_input(tmp_path: Path) -> None:
    spec = parse(cluster_yaml(agent={"token_file": "nope"}), tmp_path / "cluster.yaml")
    with pytest.raises(InvalidInput, match=r"agent\.token_file: cannot read .*nope"):
        spec.agent_token()


def test_empty_token_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("\n")
    spec = parse(cluster_yaml(agent={"token_file": "token"}), tmp_path / "cluster.yaml")
    with pytest.raises(InvalidInput, match=r"^agent\.token_file: .*token is empty$"):
        spec.agent_token()


def test_no_token_configured_gives_none() -> None:
    assert parse(cluster_yaml(agent=None), PATH).agent_token() is None


def test_load_of_a_missing_file_says_it_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        load(tmp_path / "nope.yaml")


def test_dump_then_load_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text(dump(cluster_data()))
    assert path.read_text().startswith("# galeractl cluster file")
    assert load(path) == parse(cluster_yaml(), path)


def test_an_admin_account_serves_only_what_changes_server_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MON_PW", "m")
    monkeypatch.setenv("ADM_PW", "a")
    path = tmp_path / "c.yaml"
    base = "members: [{name: a, host: h}]\ncredentials: {user: monitor, password_env: MON_PW}\n"
    path.write_text(base)
    spec = load(path)
    assert spec.admin_credentials() == spec.credentials()  # one account serves both
    path.write_text(base + "admin_credentials: {user: admin, password_env: ADM_PW}\n")
    spec = load(path)
    assert (spec.credentials().user, spec.admin_credentials().user) == ("monitor", "admin")
    assert spec.admin_credentials().password == "a"
    path.write_text(base + "admin_credentials: {file: a.cnf, user: x}\n")
    with pytest.raises(InvalidInput, match="admin_credentials: give either file"):
        load(path)
    path.write_text(base + "admin_credentials: {user: admin, password_env: NOPE_PW}\n")
    with pytest.raises(InvalidInput, match=r"admin_credentials\.password_env: environment"):
        load(path).admin_credentials()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("hap.sock", (PATH.parent / "hap.sock",)),
        (
            ["/run/haproxy/admin.sock", "b.sock"],
            (Path("/run/haproxy/admin.sock"), PATH.parent / "b.sock"),
        ),
    ],
    ids=["one-relative-to-the-cluster-file", "a-list"],
)
def test_proxy_admin_names_runtime_api_sockets_beside_the_endpoints(
    value: str | list[str], expected: tuple[Path, ...]
) -> None:
    spec = parse(cluster_yaml(proxy={"writer": "10.0.0.5:3306", "admin": value}), PATH)
    assert spec.proxy_admin == expected
    assert spec.proxy == {"writer": "10.0.0.5:3306"}  # what status and list show
    assert parse(cluster_yaml(), PATH).proxy_admin == ()


@pytest.mark.parametrize(
    "value", [[], 5, "", [""]], ids=["empty-list", "number", "empty", "empty-item"]
)
def test_a_bad_proxy_admin_is_named(value: object) -> None:
    with pytest.raises(InvalidInput, match=r"proxy\.admin: must be a socket path or a non-empty"):
        parse(cluster_yaml(proxy={"admin": value}), PATH)
