"""A restore's transport without a database: the tar stream galeractl sends, the chunked
body the agent decodes, the files it writes (and refuses to write)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import pytest

from galera.agent import guard
from galera.agent.datadir import RESTORE_MARKER, DataDir
from galera.agent.restore import Restores, extract
from galera.controller.restore import _tar_chunks
from galera.domain.grastate import Grastate
from galera.domain.position import ZERO_UUID, Position
from galera.errors import InvalidInput, OperationFailed, UnsafeOperation

POSITION = Position("6c2b4d3e-0000-11ef-8000-000000000001", 1234)


def backup_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "backup"
    (directory / "shop").mkdir(parents=True)
    (directory / "ibdata1").write_bytes(bytes(range(256)) * 4000)  # not a multiple of 512
    (directory / "shop" / "t.ibd").write_bytes(b"rows")
    (directory / "empty").write_bytes(b"")
    (directory / "galeractl-backup.json").write_text("{}")  # the manifest is not sent
    (directory / "galera.cache").write_bytes(b"x")  # nor Galera's own state
    return directory


def chunked(chunks: list[bytes]) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks if c) + b"0\r\n\r\n"


def decoded(body: bytes) -> io.BufferedReader:
    return io.BufferedReader(guard.Chunked(io.BytesIO(body)), 4096)


def test_the_stream_carries_the_files_and_nothing_else(tmp_path: Path) -> None:
    source = backup_dir(tmp_path)
    target = tmp_path / "data"
    target.mkdir()
    files, size = extract(decoded(chunked(list(_tar_chunks(source)))), target)
    assert (files, size) == (3, 256 * 4000 + 4)
    assert (target / "ibdata1").read_bytes() == (source / "ibdata1").read_bytes()
    assert (target / "shop" / "t.ibd").read_bytes() == b"rows"
    assert sorted(p.name for p in target.iterdir()) == ["empty", "ibdata1", "shop"]


def test_a_body_that_breaks_off_is_an_error(tmp_path: Path) -> None:
    body = chunked(list(_tar_chunks(backup_dir(tmp_path))))
    with pytest.raises(OperationFailed):
        extract(decoded(body[: len(body) // 2]), tmp_path)
    with pytest.raises(OperationFailed, match="not well-formed chunks"):
        decoded(b"zz\r\nabc").read()


@pytest.mark.parametrize("name", ["../escape", "/etc/passwd", "a/../../b"])
def test_unsafe_names_are_refused(tmp_path: Path, name: str) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(name)
        info.size = 1
        archive.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(InvalidInput, match="unsafe name"):
        extract(io.BytesIO(buffer.getvalue()), tmp_path / "t")


def test_links_are_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("link")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(info)
    with pytest.raises(InvalidInput, match="not a regular file"):
        extract(io.BytesIO(buffer.getvalue()), tmp_path)


def stopped(_what: str, action: Any) -> Any:
    return action()


def running(what: str, _action: Any) -> Any:
    raise UnsafeOperation(f"mariadbd is running; {what}")


def restores_of(tmp_path: Path, while_stopped: Any = stopped) -> Restores:
    data = DataDir(tmp_path / "data", tmp_path / "run", "galera-0")
    return Restores(data, while_stopped, frozenset({tmp_path / "data" / "mariadbd.err"}))


def test_a_restore_goes_only_into_an_empty_directory_of_a_stopped_server(tmp_path: Path) -> None:
    body = chunked(list(_tar_chunks(backup_dir(tmp_path))))
    with pytest.raises(UnsafeOperation, match="mariadbd is running"):
        restores_of(tmp_path, running).receive(POSITION, "b1", decoded(body))
    restores = restores_of(tmp_path)
    data = restores.data
    assert not data.datadir.exists() or not (data.datadir / RESTORE_MARKER).exists()
    answer = restores.receive(POSITION, "b1", decoded(body))
    assert answer["files"] == 3 and answer["position"] == str(POSITION)
    state = data.grastate()
    assert state is not None and state.position == POSITION and not state.safe_to_bootstrap
    assert restores.stamp() == {"position": str(POSITION), "backup": "b1"}
    with pytest.raises(UnsafeOperation, match="holds data"):  # another backup
        restores.receive(POSITION, "b2", decoded(body))
    again = restores.receive(POSITION, "b1", decoded(body))  # the same one, untouched: again
    assert again["files"] == 3
    data.write_grastate(Grastate("2.1", POSITION.uuid, POSITION.seqno + 5, False))
    assert restores.stamp() is None  # it ran and wrote since: its own data now
    with pytest.raises(UnsafeOperation, match="holds data"):
        restores.receive(POSITION, "b1", decoded(body))


def test_what_a_failed_first_join_leaves_counts_as_empty_anything_else_does_not(
    tmp_path: Path,
) -> None:
    restores = restores_of(tmp_path)
    datadir = restores.data.datadir
    datadir.mkdir()
    (datadir / "grastate.dat").write_text(
        f"# GALERA saved state\nversion: 2.1\nuuid: {ZERO_UUID}\nseqno: -1\nsafe_to_bootstrap: 0\n"
    )
    (datadir / "gvwstate.dat").write_text("x")
    (datadir / "mariadbd.err").write_text("the error log stays")
    assert restores.refusal("b1") is None
    (datadir / "orders").mkdir()  # somebody's data (or a data directory set wrong)
    refusal = restores.refusal("b1")
    assert refusal is not None and refusal.startswith("the data directory holds data (orders)")
    (datadir / "orders").rmdir()
    body = chunked(list(_tar_chunks(backup_dir(tmp_path))))
    restores.receive(POSITION, "b1", decoded(body))
    assert (datadir / "mariadbd.err").read_text() == "the error log stays"


def test_an_interrupted_restore_blocks_every_start_until_restored_again(tmp_path: Path) -> None:
    restores = restores_of(tmp_path)
    data = restores.data
    body = chunked(list(_tar_chunks(backup_dir(tmp_path))))
    with pytest.raises(OperationFailed):
        restores.receive(POSITION, "b1", decoded(body[: len(body) // 2]))
    with pytest.raises(InvalidInput, match="a restore into this data directory is under way"):
        data.grastate()  # what every start, recovery and bootstrap reads first
    assert not data.pristine()
    restores.receive(POSITION, "b1", decoded(body))  # again, from an empty directory
    assert not (data.datadir / RESTORE_MARKER).exists()
    state = data.grastate()
    assert state is not None and state.position == POSITION


def test_a_check_writes_nothing(tmp_path: Path) -> None:
    restores = restores_of(tmp_path)
    answer = restores.receive(POSITION, "b1", decoded(chunked([])), check=True)
    assert answer == {"position": str(POSITION), "accepted": True}
    assert not restores.data.datadir.exists()


def test_chunk_sizes_must_be_hexadecimal() -> None:
    for size in (b"-1", b"+5", b"", b"1" * 16):
        with pytest.raises(OperationFailed, match="not well-formed chunks"):
            decoded(size + b"\r\nabc\r\n0\r\n\r\n").read()


class Answers:
    """An agent's /v1/status answer (the restore's checks read nothing else)."""

    def __init__(
        self, grastate: dict[str, Any], process: str = "stopped", primary: bool = False
    ) -> None:
        self.body = {
            "grastate": grastate,
            "process": {
                "state": process,
                "desired": "running" if process != "stopped" else "stopped",
            },
            "wsrep": {"cluster_status": "Primary" if primary else "non-Primary"},
        }

    def status(self) -> dict[str, Any]:
        return self.body


EMPTY = {"present": False, "error": None, "pristine": True, "restorable": True}


def test_a_restore_goes_only_into_members_that_hold_nothing() -> None:
    from galera.controller.restore import _check_empty

    names = ["galera-0", "galera-1", "galera-2"]
    broke_off = {"present": True, "error": "a restore ... under way", "restore_interrupted": True}
    fine = {
        "galera-0": Answers(EMPTY),
        "galera-1": Answers(EMPTY, process="backoff"),  # a fresh pod's join attempts
        "galera-2": Answers(broke_off),  # emptied again by its agent
    }
    assert _check_empty(fine, names, "d1") == ["galera-1"]  # type: ignore[arg-type]
    same = {"present": True, "error": None, "restorable": False, "restored": {"backup": "d1"}}
    assert _check_empty({**fine, "galera-2": Answers(same)}, names, "d1") == ["galera-1"]  # type: ignore[arg-type]
    held = {**fine, "galera-2": Answers({"present": True, "error": None, "restorable": False})}
    with pytest.raises(UnsafeOperation, match="galera-2 holds data"):
        _check_empty(held, names, "d1")  # type: ignore[arg-type]
    primary = {**fine, "galera-1": Answers(EMPTY, process="running", primary=True)}
    with pytest.raises(UnsafeOperation, match="galera-1 runs in a Primary component"):
        _check_empty(primary, names, "d1")  # type: ignore[arg-type]
    corrupt = {**fine, "galera-0": Answers({"present": True, "error": "line 3: bad seqno"})}
    with pytest.raises(UnsafeOperation, match="galera-0: line 3: bad seqno"):
        _check_empty(corrupt, names, "d1")  # type: ignore[arg-type]
