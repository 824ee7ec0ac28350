"""The record of a bootstrap in flight: where it lives, what it keeps, and a corrupt record."""

from __future__ import annotations

from pathlib import Path

import pytest

from galera.controller.progress import Progress
from galera.platforms.static import Static
from tests.unit.builders import UUID_A

POSITION = f"{UUID_A}:42"


def spec_in(directory: Path, filename: str = "cluster.yaml") -> Static:
    """The static platform of a cluster file (records beside it)."""
    return Static(directory / filename)


def path_for(platform: Static, operation: str = "bootstrap") -> Path:
    return platform.progress_store(operation).path


def begun(spec: Static) -> Progress:
    progress = Progress.load(spec)
    progress.begin("galera-1", POSITION, "galera-1 has the highest seqno")
    return progress


# --- Where it is stored -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "operation", "expected"),
    [
        ("cluster.yaml", "bootstrap", "cluster.bootstrap.json"),
        ("prod.yml", "bootstrap", "prod.bootstrap.json"),
        ("cluster.yaml", "rejoin", "cluster.rejoin.json"),
        ("cluster", "bootstrap", "cluster.bootstrap.json"),
    ],
    ids=["default", "other-name", "other-operation", "no-suffix"],
)
def test_path_is_next_to_the_cluster_file(
    tmp_path: Path, filename: str, operation: str, expected: str
) -> None:
    assert path_for(spec_in(tmp_path, filename), operation) == tmp_path / expected


def test_nothing_is_written_until_begin(tmp_path: Path) -> None:
    spec = spec_in(tmp_path)
    progress = Progress.load(spec)
    assert progress.store.where == str(path_for(spec))
    assert not path_for(spec).exists()


# --- Persistence --------------------------------------------------------------------------


def test_begin_persists_the_member_position_and_reason(tmp_path: Path) -> None:
    spec = spec_in(tmp_path)
    begun(spec)
    loaded = Progress.load(spec)
    assert loaded.in_flight
    assert loaded.member == "galera-1"
    assert loaded.data["position"] == POSITION
    assert loaded.data["reason"] == "galera-1 has the highest seqno"
    assert loaded.data["steps"] == []
    assert isinstance(loaded.data["started_at"], float)


def test_steps_persist_in_order_with_their_details(tmp_path: Path) -> None:
    spec = spec_in(tmp_path)
    progress = begun(spec)
    progress.step("mark", member="galera-1")
    progress.step("start", pid=1234)
    steps = Progress.load(spec).data["steps"]
    assert [s["step"] for s in steps] == ["mark", "start"]
    assert steps[0]["member"] == "galera-1"
    assert steps[1]["pid"] == 1234
    assert all(isinstance(s["at"], float) for s in steps)


def test_finish_persists_the_final_state_and_details(tmp_path: Path) -> None:
    spec = spec_in(tmp_path)
    progress = begun(spec)
    progress.step("start")
    progress.finish("done", joined=["galera-0", "galera-2"])
    loaded = Progress.load(spec)
    assert loaded.data["state"] == "done"
    assert loaded.data["joined"] == ["galera-0", "galera-2"]
    assert isinstance(loaded.data["finished_at"], float)
    assert loaded.member == "galera-1"
    assert [s["step"] for s in loaded.data["steps"]] == ["start"]


def test_begin_again_starts_a_fresh_record(tmp_path: Path) -> None:
    spec = spec_in(tmp_path)
    progress = begun(spec)
    progress.step("start")
    progress.finish("failed", error="timeout")
    progress.begin("galera-0", f"{UUID_A}:50", "again")
    loaded = Progress.load(spec)
    assert loaded.in_flight
    assert loaded.member == "galera-0"
    assert loaded.data["steps"] == []
    assert "error" not in loaded.data


def test_saving_leaves_no_temporary_file(tmp_path: Path) -> None:
    spec = spec_in(tmp_path)
    progress = begun(spec)
    progress.step("start")
    progress.finish("done")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cluster.bootstrap.json"]


def test_operations_are_recorded_separately(tmp_path: Path) -> None:
    spec = spec_in(tmp_path)
    begun(spec)
    assert not Progress.load(spec, "rejoin").in_flight
    assert Progress.load(spec, "bootstrap").in_flight


# --- In flight ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "in_flight"),
    [
        ([], False),
        (["begin"], True),
        (["begin", "step"], True),
        (["begin", "step", "finish:done"], False),
        (["begin", "finish:failed"], False),
        (["begin", "finish:aborted", "begin"], True),
    ],
    ids=["fresh", "begun", "stepped", "done", "failed", "begun-again"],
)
def test_in_flight_only_between_begin_and_finish(
    tmp_path: Path, steps: list[str], in_flight: bool
) -> None:
    spec = spec_in(tmp_path)
    progress = Progress.load(spec)
    for action in steps:
        if action == "begin":
            progress.begin("galera-1", POSITION, "why")
        elif action == "step":
            progress.step("start")
        else:
            progress.finish(action.split(":")[1])
    assert progress.in_flight is in_flight
    assert Progress.load(spec).in_flight is in_flight


# --- Summary ------------------------------------------------------------------------------


def test_summary_has_member_position_and_last_step(tmp_path: Path) -> None:
    spec = spec_in(tmp_path)
    progress = begun(spec)
    assert progress.summary()["last_step"] is None
    progress.step("mark")
    progress.step("start")
    summary = Progress.load(spec).summary()
    assert summary["state"] == "in_progress"
    assert summary["member"] == "galera-1"
    assert summary["position"] == POSITION
    assert summary["last_step"] == "start"
    assert summary["started_at"] == progress.data["started_at"]


def test_summary_of_nothing_is_all_none(tmp_path: Path) -> None:
    summary = Progress.load(spec_in(tmp_path)).summary()
    assert summary == {
        "state": None,
        "member": None,
        "position": None,
        "last_step": None,
        "started_at": None,
    }


# --- A corrupt record ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{",
        b'{"state": "in_progress", "member": "ga',
        b"not json",
        b"\xff\xfe\x00",
        b"[1]",
        b'"in_progress"',
        b"null",
    ],
    ids=["empty", "brace", "truncated", "not-json", "binary", "list", "string", "null"],
)
def test_corrupt_record_loads_as_empty_and_not_in_flight(tmp_path: Path, content: bytes) -> None:
    spec = spec_in(tmp_path)
    path_for(spec).write_bytes(content)
    progress = Progress.load(spec)
    assert progress.data == {}
    assert not progress.in_flight
    assert progress.member is None
    assert progress.summary()["state"] is None


def test_a_corrupt_record_is_replaced_by_the_next_begin(tmp_path: Path) -> None:
    spec = spec_in(tmp_path)
    path_for(spec).write_text("{garbage")
    begun(spec)
    assert Progress.load(spec).in_flight


# --- Who carries out a run in flight --------------------------------------------------------


@pytest.mark.parametrize(
    ("owner", "age", "state", "expected"),
    [
        ("pipeline-42", 5.0, "in_progress", "pipeline-42"),
        ("pipeline-42", 3600.0, "in_progress", None),
        (None, 5.0, "in_progress", None),
        ("pipeline-42", 5.0, "done", None),
    ],
    ids=["another-live-run", "stale", "no-owner-recorded", "finished"],
)
def test_a_run_in_flight_is_owned_elsewhere_only_while_its_owner_writes(
    tmp_path: Path, owner: str | None, age: float, state: str, expected: str | None
) -> None:
    import time

    progress = Progress.load(spec_in(tmp_path), "rolling")
    progress.data = {"state": state, "owner": owner, "heartbeat": time.time() - age}
    assert progress.owned_elsewhere() == expected


def test_our_own_run_is_not_owned_elsewhere(tmp_path: Path) -> None:
    progress = Progress.load(spec_in(tmp_path), "rolling")
    progress.start(order=["a"], done=[])
    assert progress.owned_elsewhere() is None
    assert Progress.load(spec_in(tmp_path), "rolling").data["heartbeat"] > 0
