"""Bad input on the command line: one clear line on stderr, exit 2, nothing changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import galeractl, one_line_error

VALID = """\
name: prod
credentials: {file: client.cnf}
members:
  - {name: db-0, host: 127.0.0.1, port: 1}
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("members: [", "not valid YAML"),
        ("- just a list", "must be a mapping"),
        ("name: x\nmembers: []\ncredentials: {file: c}", "members: must be a non-empty list"),
        (VALID.replace("port: 1", "port: 70000"), "members[0].port"),
        (VALID.replace("name: prod", "nmae: prod"), "nmae: unknown key"),
        (VALID.replace("host: 127.0.0.1", "hots: 127.0.0.1"), "members[0].hots: unknown key"),
    ],
    ids=["bad-yaml", "not-mapping", "no-members", "bad-port", "typo-top", "typo-member"],
)
def test_malformed_cluster_file_names_the_problem(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text(text)
    result = galeractl("status", "-c", str(path))
    assert result.code == 2
    assert expected in one_line_error(result)


def test_missing_cluster_file_is_bad_input(tmp_path: Path) -> None:
    result = galeractl("status", "-c", str(tmp_path / "nope.yaml"))
    assert result.code == 2
    assert "does not exist" in one_line_error(result)


def test_the_cluster_file_may_come_before_the_command(tmp_path: Path) -> None:
    result = galeractl("-c", str(tmp_path / "nope.yaml"), "status")
    assert result.code == 2
    assert f"{tmp_path / 'nope.yaml'} does not exist" in one_line_error(result)
    twice = galeractl("-c", "a.yaml", "status", "-c", "b.yaml")
    assert one_line_error(twice).endswith("-c given twice with different files: a.yaml and b.yaml")


def test_pause_resume_and_history_on_a_cluster_file(tmp_path: Path) -> None:
    """Records beside the cluster file; a pause, its extension, a resume, in order."""
    (tmp_path / "cluster.yaml").write_text(VALID)
    cluster = str(tmp_path / "cluster.yaml")
    assert "nothing to resume" in galeractl("resume", "-c", cluster).stdout
    assert galeractl("-c", cluster, "pause", "--reason", "kernel", "--for", "2h").code == 0
    again = galeractl("pause", "-c", cluster, "--for", "3h", "-o", "json").json()
    assert again["reason"] == "kernel"
    assert again["until"] - again["at"] == pytest.approx(10800, abs=30)
    assert "resumed (paused by galeractl pause by" in galeractl("resume", "-c", cluster).stdout
    entries = galeractl("history", "-c", cluster, "-o", "json").json()
    assert [e["kind"] for e in entries] == ["pause", "pause_extended", "resume"]
    table = galeractl("history", "-c", cluster, "--limit", "1").stdout
    assert "resume" in table and "pause_extended" not in table


def test_no_cluster_file_anywhere_says_how_to_give_one(tmp_path: Path) -> None:
    result = galeractl(
        "status", env={"GALERACTL_CLUSTER": "", "GALERACTL_SANDBOX_DIR": str(tmp_path / "none")}
    )
    assert result.code == 2
    assert "pass -c FILE" in one_line_error(result)


def test_unknown_member_for_if_down_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "cluster.yaml").write_text(VALID)
    (tmp_path / "client.cnf").write_text("[client]\nuser=u\npassword=p\n")
    result = galeractl("quorum", "-c", str(tmp_path / "cluster.yaml"), "--if-down", "db-9")
    assert result.code == 2
    assert "unknown member 'db-9'" in one_line_error(result)


def test_missing_credentials_file_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "cluster.yaml").write_text(VALID)
    result = galeractl("status", "-c", str(tmp_path / "cluster.yaml"))
    assert result.code == 2
    assert "client.cnf" in one_line_error(result)


def test_unreachable_only_member_is_down_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "cluster.yaml").write_text(VALID)
    (tmp_path / "client.cnf").write_text("[client]\nuser=u\npassword=p\n")
    result = galeractl("status", "-c", str(tmp_path / "cluster.yaml"), "-o", "json")
    assert result.code == 1
    report = result.json()
    assert report["cluster"]["verdict"] == "down"
    assert report["members"][0]["reachable"] is False


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["sandbox", "up", "--nodes", "10"], "--nodes must be from 1 to 9"),
        (["sandbox", "up", "--nodes", "0"], "--nodes must be from 1 to 9"),
        (["sandbox", "kill", "galera-0"], "no sandbox in"),
        (["sandbox", "start", "galera-0"], "no sandbox in"),
        (["sandbox", "down"], "no sandbox in"),
        (["sandbox", "up", "--netns-number", "3"], "--netns-number needs --netns"),
        (["sandbox", "up", "--netns", "--netns-number", "100"], "--netns-number must be from 0"),
    ],
    ids=[
        "too-many-nodes",
        "zero-nodes",
        "kill-nothing",
        "start-nothing",
        "down-nothing",
        "netns-number-alone",
        "netns-number-too-high",
    ],
)
def test_sandbox_bad_input_changes_nothing(tmp_path: Path, args: list[str], expected: str) -> None:
    root = tmp_path / "sb"
    result = galeractl(*args, "--dir", str(root))
    assert result.code == 2
    assert expected in one_line_error(result)
    assert not root.exists()


def test_bad_agent_config_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text("name: db-0\nlisten: nowhere\nserver: {}\n")
    result = galeractl("agent", "--config", str(path))
    assert result.code == 2
    assert "listen" in one_line_error(result)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["upgrade", "--set", "novalue"], "--set 'novalue': expected OPTION=VALUE"),
        (["upgrade"], "upgrade needs --image IMAGE or at least one --set"),
        (["exporter", "--label", "bad"], "--label 'bad': expected NAME=VALUE"),
        (["exporter", "--label", "member=x"], "not 'member'"),
        (["exporter", "--listen", "nowhere"], "--listen"),
        (["conflicts", "--since", "soon"], "--since 'soon'"),
        (["bootstrap", "--force-member", "db-9"], "unknown member 'db-9'"),
        (["rolling-restart", "--members", "db-9"], "unknown member 'db-9'"),
        (["pause", "--for", "soon"], "--for 'soon': a duration like 30m, 2h, 1d or seconds"),
        (["pause", "--for", "10s"], "--for '10s': from 1 minute to 30 days"),
    ],
    ids=[
        "set-no-value",
        "upgrade-nothing",
        "label-no-value",
        "label-member",
        "bad-listen",
        "bad-since",
        "force-unknown",
        "roll-unknown",
        "pause-for-word",
        "pause-for-short",
    ],
)
def test_recovery_rolling_and_monitoring_bad_input(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    (tmp_path / "cluster.yaml").write_text(
        VALID.replace("port: 1}", "port: 1, agent: 'http://127.0.0.1:1'}")
    )
    (tmp_path / "client.cnf").write_text("[client]\nuser=u\npassword=p\n")
    result = galeractl(args[0], "-c", str(tmp_path / "cluster.yaml"), *args[1:])
    assert result.code == 2, result.stderr
    assert expected in one_line_error(result)
