"""Backups without a database: which member is backed up, the manifest and its checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from galera.controller import backup as backups
from galera.controller import backup_series
from galera.domain.backup import Donor, choose
from galera.errors import InvalidInput, OperationFailed, UnsafeOperation
from tests.unit.builders import NAMES3, healthy, non_primary, one_crashed, seen, snapshot


def test_the_default_donor_is_a_synced_member_that_is_not_the_writer() -> None:
    donor = choose(healthy(), writer="galera-2", asked=None)
    assert donor == Donor(
        "galera-1", "galera-1: Synced, not the writer; 2 other Synced member(s) keep serving"
    )


def test_a_member_asked_for_must_be_synced_and_leave_another_synced() -> None:
    assert choose(healthy(), None, "galera-2") == Donor("galera-2", "galera-2 was asked for")
    assert choose(one_crashed(), None, "galera-2") == (
        "galera-2 is not Synced in the Primary component"
    )


def test_refused_without_a_primary_component_or_a_second_synced_member() -> None:
    alone = snapshot(*(seen(non_primary(n)) for n in NAMES3))
    assert choose(alone, None, None) == (
        "the cluster has no Primary component: no member holds a consistent position"
    )
    one = healthy(("galera-0",))
    assert choose(one, None, None) == (
        "desynchronising a member would leave no other Synced member (Synced: galera-0)"
    )
    assert choose(one, None, "galera-0") == (
        "desynchronising galera-0 would leave no other Synced member"
    )


def backup_dir(tmp_path: Path) -> Path:
    """A backup directory with its manifest (not prepared: no server is started)."""
    directory = tmp_path / "b"
    (directory / "shop").mkdir(parents=True)
    (directory / "ibdata1").write_bytes(b"\0" * 4096)
    (directory / "shop" / "t.ibd").write_bytes(b"rows")
    (directory / "xtrabackup_galera_info").write_text("6c2b4d3e-0000-11ef-8000-000000000001:1234\n")
    manifest = {
        "position": str(backups.galera_position(directory)),
        "prepared": False,
        "files": backups.checksums(directory),
    }
    (directory / backups.MANIFEST).write_text(json.dumps(manifest))
    return directory


def test_verify_accepts_an_intact_backup(tmp_path: Path) -> None:
    manifest = backups.verify(backup_dir(tmp_path))
    assert manifest["position"] == "6c2b4d3e-0000-11ef-8000-000000000001:1234"
    assert set(manifest["files"]) == {"ibdata1", "shop/t.ibd", "xtrabackup_galera_info"}


def test_verify_names_the_file_with_a_flipped_byte(tmp_path: Path) -> None:
    directory = backup_dir(tmp_path)
    (directory / "shop" / "t.ibd").write_bytes(b"rowz")
    with pytest.raises(InvalidInput, match=r"shop/t.ibd differs from the manifest"):
        backups.verify(directory)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: (d / "ibdata1").unlink(), r"ibdata1 is missing"),
        (lambda d: (d / "stray").write_text("x"), r"stray is not in the manifest"),
        (lambda d: (d / backups.MANIFEST).unlink(), r"no galeractl-backup.json: not a"),
        (lambda d: (d / backups.MANIFEST).write_text("{"), r"galeractl-backup.json: unreadable"),
    ],
    ids=["missing", "extra", "no-manifest", "corrupt-manifest"],
)
def test_verify_refuses_what_is_not_the_backup_it_says(
    tmp_path: Path, change: object, message: str
) -> None:
    directory = backup_dir(tmp_path)
    change(directory)  # type: ignore[operator]
    with pytest.raises(InvalidInput, match=message):
        backups.verify(directory)


def test_a_directory_that_is_no_backup_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"not a directory"):
        backups.verify(tmp_path / "nowhere")
    (tmp_path / "xtrabackup_galera_info").write_text("garbage")
    with pytest.raises(InvalidInput, match=r"not a Galera position: 'garbage'"):
        backups.galera_position(tmp_path)


def test_a_restore_needs_a_server_of_the_backups_release_series(tmp_path: Path) -> None:
    assert backups.series("10.11.19-MariaDB-0+deb12u1-log") == "10.11"
    assert backups.series("garbage") == ""
    fake = tmp_path / "mariadbd"
    fake.write_text("#!/bin/sh\necho 'mariadbd  Ver 10.11.19-MariaDB for debian-linux-gnu'\n")
    fake.chmod(0o755)
    backups.check_server(tmp_path, {"server_version": "10.11.6-MariaDB"}, str(fake))
    with pytest.raises(InvalidInput, match=r"taken from MariaDB 10.6, and .* here is 10.11"):
        backups.check_server(tmp_path, {"server_version": "10.6.18-MariaDB"}, str(fake))
    with pytest.raises(InvalidInput, match="the manifest names no server version"):
        backups.check_server(tmp_path, {}, str(fake))


def fake_take(fail: bool = False) -> Any:
    """Stands in for a real backup in the series' bookkeeping: a directory with a manifest
    (the real one is tested against a cluster in tests/integration/test_backup.py)."""

    def take(_platform: Any, _member: Any, target: Path, _prepare: bool, _emit: Any) -> dict:
        target.mkdir()
        (target / "ibdata1").write_bytes(b"\0")
        if fail:
            raise OperationFailed("mariabackup failed")
        (target / backups.MANIFEST).write_text("{}")
        return {}

    return take


def test_a_series_keeps_the_newest_and_removes_what_unfinished_runs_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent = tmp_path / "series"
    parent.mkdir()
    for stamp in ("20261101T030000Z", "20261102T030000Z", "20261103T030000Z"):
        (parent / f"backup-{stamp}").mkdir()
        (parent / f"backup-{stamp}" / backups.MANIFEST).write_text("{}")
    (parent / "backup-20261104T030000Z").mkdir()  # a run that was killed: no manifest
    (parent / "notes.txt").write_text("not ours")
    (parent / "backup-manual").mkdir()  # not named like the series': left alone
    monkeypatch.setattr(backups, "take", fake_take())
    _manifest, target, removed = backup_series.take(None, None, parent, 2, True, print)  # type: ignore[arg-type]
    assert removed == [
        "backup-20261104T030000Z",
        "backup-20261101T030000Z",
        "backup-20261102T030000Z",
    ]
    assert sorted(p.name for p in parent.iterdir()) == sorted(
        [
            ".galeractl-backup.lock",
            "backup-20261103T030000Z",
            target.name,
            "notes.txt",
            "backup-manual",
        ]
    )


def test_a_failed_run_leaves_nothing_and_removes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent = tmp_path / "series"
    (parent / "backup-20261101T030000Z").mkdir(parents=True)
    (parent / "backup-20261101T030000Z" / backups.MANIFEST).write_text("{}")
    monkeypatch.setattr(backups, "take", fake_take(fail=True))
    with pytest.raises(OperationFailed):
        backup_series.take(None, None, parent, 1, True, print)  # type: ignore[arg-type]
    assert sorted(p.name for p in parent.iterdir()) == [
        ".galeractl-backup.lock",
        "backup-20261101T030000Z",
    ]


def test_one_run_at_a_time_per_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fcntl

    parent = tmp_path / "series"
    parent.mkdir()
    monkeypatch.setattr(backups, "take", fake_take())
    with open(parent / backup_series.LOCK, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(UnsafeOperation, match=r"another backup into .* is running"):
            backup_series.take(None, None, parent, 1, True, print)  # type: ignore[arg-type]
    assert sorted(p.name for p in parent.iterdir()) == [backup_series.LOCK]
    with pytest.raises(InvalidInput, match="--keep 0: must be at least 1"):
        backup_series.take(None, None, parent, 0, True, print)  # type: ignore[arg-type]
