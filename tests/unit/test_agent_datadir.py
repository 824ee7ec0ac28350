"""The agent's view of a data directory: grastate, stale SST files and the bootstrap mark."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from galera.agent import datadir as datadir_module
from galera.agent.datadir import MARK_FILE, DataDir
from galera.domain.grastate import CorruptGrastate, Grastate
from galera.domain.grastate import parse as parse_grastate
from galera.domain.position import Position
from galera.errors import InvalidInput, UnsafeOperation
from tests.unit.builders import UUID_A, UUID_B, ZERO_UUID, grastate_text

MEMBER = "galera-0"
HERE = Position(UUID_A, 42)


def data_dir(tmp_path: Path, *, grastate: str | None = None) -> DataDir:
    """A DataDir whose data directory exists (run directory not yet), optionally with a file."""
    d = DataDir(tmp_path / "data", tmp_path / "run", MEMBER)
    d.datadir.mkdir()
    if grastate is not None:
        d.grastate_path.write_text(grastate)
    return d


def dead_pid() -> int:
    """The pid of a process that has finished and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


# --- grastate.dat -------------------------------------------------------------------------


def test_grastate_is_none_when_the_file_is_absent(tmp_path: Path) -> None:
    assert data_dir(tmp_path).grastate() is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (grastate_text(seqno="42", safe_to_bootstrap="0"), Grastate("2.1", UUID_A, 42, False)),
        (grastate_text(seqno="-1", safe_to_bootstrap="1"), Grastate("2.1", UUID_A, -1, True)),
        (grastate_text(uuid=UUID_B, seqno="0", version="2.2"), Grastate("2.2", UUID_B, 0, False)),
    ],
    ids=["clean", "crashed-but-safe", "other-version"],
)
def test_grastate_parses_the_file_when_present(
    tmp_path: Path, text: str, expected: Grastate
) -> None:
    assert data_dir(tmp_path, grastate=text).grastate() == expected


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (grastate_text(seqno="forty-two"), "line 4"),
        (grastate_text(uuid="not-a-uuid"), "line 3"),
        ("# GALERA saved state\nversion 2.1\n", "line 2"),
        (grastate_text(safe_to_bootstrap="yes"), "line 5"),
        (grastate_text() + "seqno: 43\n", "line 6"),
        ("# GALERA saved state\nversion: 2.1\n", "no 'uuid' line"),
    ],
    ids=["bad-seqno", "bad-uuid", "not-key-value", "bad-flag", "repeated-key", "truncated"],
)
def test_corrupt_grastate_raises_naming_the_file_and_line(
    tmp_path: Path, text: str, where: str
) -> None:
    d = data_dir(tmp_path, grastate=text)
    with pytest.raises(CorruptGrastate) as raised:
        d.grastate()
    assert isinstance(raised.value, InvalidInput)
    assert str(d.grastate_path) in str(raised.value)
    assert where in str(raised.value)


def test_grastate_with_undecodable_bytes_is_refused_not_crashed(tmp_path: Path) -> None:
    d = data_dir(tmp_path)
    d.grastate_path.write_bytes(b"version: 2.1\nuuid: \xff\xfe\nseqno: 1\n")
    with pytest.raises(InvalidInput, match="line 2"):
        d.grastate()


def test_unreadable_grastate_raises_invalid_input_naming_the_member(tmp_path: Path) -> None:
    d = data_dir(tmp_path)
    d.grastate_path.mkdir()
    with pytest.raises(InvalidInput) as raised:
        d.grastate()
    assert raised.value.member == MEMBER
    assert str(d.grastate_path) in str(raised.value)


@pytest.mark.parametrize(
    ("text", "uuid", "seqno"),
    [
        (grastate_text(seqno="42", safe_to_bootstrap="0"), UUID_A, 42),
        (grastate_text(seqno="-1", safe_to_bootstrap="0"), UUID_A, -1),
        (grastate_text(uuid=UUID_B, seqno="7", safe_to_bootstrap=None), UUID_B, 7),
    ],
    ids=["clean", "crashed", "no-flag-line"],
)
def test_set_safe_to_bootstrap_rewrites_the_flag_keeping_the_position(
    tmp_path: Path, text: str, uuid: str, seqno: int
) -> None:
    d = data_dir(tmp_path, grastate=text)
    d.set_safe_to_bootstrap()
    assert parse_grastate(d.grastate_path.read_text()) == Grastate("2.1", uuid, seqno, True)
    assert "safe_to_bootstrap: 1\n" in d.grastate_path.read_text()
    assert sorted(p.name for p in d.datadir.iterdir()) == ["grastate.dat"]


def test_set_safe_to_bootstrap_leaves_an_already_safe_file_untouched(tmp_path: Path) -> None:
    text = "# hand written\n" + grastate_text(safe_to_bootstrap="1")
    d = data_dir(tmp_path, grastate=text)
    d.set_safe_to_bootstrap()
    assert d.grastate_path.read_text() == text


def test_set_safe_to_bootstrap_without_grastate_creates_nothing(tmp_path: Path) -> None:
    d = data_dir(tmp_path)
    d.set_safe_to_bootstrap()
    assert list(d.datadir.iterdir()) == []


# --- State transfer leftovers -------------------------------------------------------------


@pytest.mark.parametrize("present", [True, False], ids=["marker-present", "marker-absent"])
def test_sst_interrupted_reflects_the_sst_in_progress_file(tmp_path: Path, present: bool) -> None:
    d = data_dir(tmp_path)
    if present:
        (d.datadir / "sst_in_progress").write_text("")
    assert d.sst_interrupted is present


@pytest.mark.parametrize(
    "content",
    [
        lambda: f"{dead_pid()}\n",
        lambda: "999999\n",
        lambda: "not-a-pid\n",
        lambda: "",
        lambda: "0\n",
        lambda: "-5\n",
    ],
    ids=["reaped-child", "beyond-pid-max", "garbage", "empty-file", "zero", "negative"],
)
def test_clean_stale_sst_removes_a_pid_file_of_a_dead_process(
    tmp_path: Path, content: Callable[[], str]
) -> None:
    d = data_dir(tmp_path)
    pid_file = d.datadir / "wsrep_sst.pid"
    pid_file.write_text(content())
    assert d.clean_stale_sst() == ["wsrep_sst.pid"]
    assert not pid_file.exists()


@pytest.mark.parametrize(
    "content",
    [f"{os.getpid()}\n", f"{os.getpid()} extra words\n"],
    ids=["own-pid", "pid-then-more"],
)
def test_clean_stale_sst_keeps_the_pid_file_of_a_live_process(tmp_path: Path, content: str) -> None:
    d = data_dir(tmp_path)
    pid_file = d.datadir / "wsrep_sst.pid"
    pid_file.write_text(content)
    assert d.clean_stale_sst() == []
    assert pid_file.read_text() == content


def test_clean_stale_sst_without_a_pid_file_removes_nothing(tmp_path: Path) -> None:
    assert data_dir(tmp_path).clean_stale_sst() == []


def test_clean_stale_sst_keeps_the_pid_file_of_another_users_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def kill(pid: int, sig: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(datadir_module.os, "kill", kill)
    d = data_dir(tmp_path)
    pid_file = d.datadir / "wsrep_sst.pid"
    pid_file.write_text("4242\n")
    assert d.clean_stale_sst() == []
    assert pid_file.exists()


def test_clean_stale_sst_removes_a_pid_file_with_an_impossible_pid(tmp_path: Path) -> None:
    d = data_dir(tmp_path)
    pid_file = d.datadir / "wsrep_sst.pid"
    pid_file.write_text("99999999999999999999\n")
    assert d.clean_stale_sst() == ["wsrep_sst.pid"]
    assert not pid_file.exists()


# --- The bootstrap mark -------------------------------------------------------------------


def test_mark_is_none_when_absent(tmp_path: Path) -> None:
    assert data_dir(tmp_path).mark() is None


def test_set_mark_then_mark_round_trips_and_creates_the_run_directory(tmp_path: Path) -> None:
    d = data_dir(tmp_path)
    written = d.set_mark(HERE, by="galeractl@ops")
    assert d.mark_path == tmp_path / "run" / MARK_FILE
    assert written["position"] == f"{UUID_A}:42"
    assert written["by"] == "galeractl@ops"
    assert isinstance(written["at"], float)
    assert d.mark() == written
    assert sorted(p.name for p in d.rundir.iterdir()) == [MARK_FILE]


def test_set_mark_replaces_an_earlier_mark(tmp_path: Path) -> None:
    d = data_dir(tmp_path)
    d.set_mark(Position(UUID_A, 1))
    d.set_mark(HERE)
    assert d.consume_mark(HERE) == HERE


def test_clear_mark_says_whether_there_was_one(tmp_path: Path) -> None:
    d = data_dir(tmp_path)
    assert d.clear_mark() is False
    d.set_mark(HERE)
    assert d.clear_mark() is True
    assert d.mark() is None
    assert d.clear_mark() is False


def test_consume_without_a_mark_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsafeOperation, match="no bootstrap mark") as raised:
        data_dir(tmp_path).consume_mark(HERE)
    assert raised.value.member == MEMBER


@pytest.mark.parametrize(
    "current",
    [Position(UUID_A, 43), Position(UUID_A, 41), Position(UUID_B, 42), Position(UUID_A, -1)],
    ids=["moved-on", "behind", "other-history", "unknown-seqno"],
)
def test_consume_for_another_position_is_refused_and_keeps_the_mark(
    tmp_path: Path, current: Position
) -> None:
    d = data_dir(tmp_path)
    mark = d.set_mark(HERE)
    with pytest.raises(UnsafeOperation, match="galeractl bootstrap' again") as raised:
        d.consume_mark(current)
    assert str(HERE) in str(raised.value)
    assert str(current) in str(raised.value)
    assert d.mark() == mark


def test_consume_returns_the_position_once_and_deletes_the_mark(tmp_path: Path) -> None:
    d = data_dir(tmp_path)
    d.set_mark(HERE)
    assert d.consume_mark(HERE) == HERE
    assert d.mark() is None
    assert not d.mark_path.exists()
    with pytest.raises(UnsafeOperation, match="no bootstrap mark"):
        d.consume_mark(HERE)


def test_consume_with_the_position_unknown_is_refused_and_keeps_the_mark(tmp_path: Path) -> None:
    """A zeroed grastate.dat (a state transfer killed half-way) must not form a cluster."""
    d = data_dir(tmp_path)
    mark = d.set_mark(HERE)
    with pytest.raises(UnsafeOperation, match="position is unknown") as raised:
        d.consume_mark(None)
    assert "recovers it first" in str(raised.value)
    assert d.mark() == mark


@pytest.mark.parametrize(
    ("text", "recovered", "expected"),
    [
        (grastate_text(seqno="42"), None, HERE),
        (grastate_text(seqno="42"), Position(UUID_A, 7), HERE),
        (grastate_text(seqno="-1"), HERE, HERE),
        (grastate_text(seqno="-1"), None, None),
        (grastate_text(seqno="-1"), Position(UUID_B, 42), None),
        (grastate_text(uuid=ZERO_UUID, seqno="-1"), HERE, None),
        (None, HERE, None),
    ],
    ids=[
        "clean-stop",
        "clean-stop-wins-over-an-old-recovery",
        "crashed-then-recovered",
        "crashed-not-recovered",
        "recovered-another-history",
        "discarded",
        "no-grastate-beside-data",
    ],
)
def test_the_position_is_known_only_where_grastate_and_recovery_agree(
    tmp_path: Path, text: str | None, recovered: Position | None, expected: Position | None
) -> None:
    """A recovered position counts only for the history grastate.dat names: a discarded
    member (zero UUID) or one without grastate.dat has no confirmed position, whatever
    --wsrep-recover finds in its InnoDB files."""
    d = data_dir(tmp_path, grastate=text)
    (d.datadir / "mysql").mkdir()
    assert d.position(recovered) == expected


def test_consume_after_an_interrupted_transfer_is_refused(tmp_path: Path) -> None:
    d = data_dir(tmp_path)
    d.set_mark(HERE)
    (d.datadir / "sst_in_progress").touch()
    with pytest.raises(UnsafeOperation, match="state transfer into this member was interrupted"):
        d.consume_mark(HERE)


@pytest.mark.parametrize(
    "content",
    [b"not json", b"", b'{"position": "', b"\xff\xfe\x00"],
    ids=["not-json", "empty", "truncated", "binary"],
)
def test_corrupt_mark_is_removed_and_refused(tmp_path: Path, content: bytes) -> None:
    d = data_dir(tmp_path)
    d.rundir.mkdir()
    d.mark_path.write_bytes(content)
    assert d.mark() == {"corrupt": True}
    with pytest.raises(UnsafeOperation, match="corrupt") as raised:
        d.consume_mark(HERE)
    assert raised.value.member == MEMBER
    assert not d.mark_path.exists()


@pytest.mark.parametrize(
    "content",
    ["42", "[]", '"text"', "{}", json.dumps({"position": "garbage"})],
    ids=["number", "list", "string", "object-without-position", "unparsable-position"],
)
def test_json_that_is_not_a_mark_is_removed_and_refused(tmp_path: Path, content: str) -> None:
    d = data_dir(tmp_path)
    d.rundir.mkdir()
    d.mark_path.write_text(content)
    with pytest.raises(UnsafeOperation, match="corrupt"):
        d.consume_mark(HERE)
    assert not d.mark_path.exists()


# --- Brand-new members: what a first join attempt leaves, and what counts as pristine --------


def test_an_empty_grastate_left_by_a_failed_first_join_counts_as_absent(tmp_path: Path) -> None:
    d = data_dir(tmp_path, grastate="")
    assert d.grastate() is None
    assert d.pristine()
    d.discard_empty_grastate()
    assert not d.grastate_path.exists()


def test_an_empty_grastate_beside_data_is_corruption(tmp_path: Path) -> None:
    d = data_dir(tmp_path, grastate="")
    (d.datadir / "mysql").mkdir()
    with pytest.raises(InvalidInput, match=r"grastate\.dat"):
        d.grastate()
    assert not d.pristine()
    d.discard_empty_grastate()
    assert d.grastate_path.exists()


@pytest.mark.parametrize(
    ("grastate", "system_tables", "pristine"),
    [
        (None, False, True),
        (grastate_text("00000000-0000-0000-0000-000000000000", -1), False, True),
        (grastate_text(UUID_A, 42), False, False),
        (None, True, False),
        ("garbage\n", False, False),
    ],
    ids=["nothing", "zero-uuid", "a-history", "system-tables", "corrupt"],
)
def test_pristine_means_no_data_and_no_history(
    tmp_path: Path, grastate: str | None, system_tables: bool, pristine: bool
) -> None:
    d = data_dir(tmp_path, grastate=grastate)
    if system_tables:
        (d.datadir / "mysql").mkdir()
    assert d.pristine() is pristine
