"""A join attempt counts as untouched only while its log shows it waiting for a Primary
component and nothing that could have reached its data; anything unclear counts as touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from galera.agent.joinwatch import JoinWatch
from galera.domain.position import Position
from tests.unit.builders import UUID_A

START = Position(UUID_A, 16)
BEFORE = "2026-12-02  0:01:07 0 [Note] WSREP: Shifting JOINED -> SYNCED (TO: 15)\n"
WAITING = (
    "2026-12-02  0:01:07 1 [Note] WSREP: Prepared IST receiver for 22-24\n"
    "2026-12-02  0:01:07 1 [Note] WSREP: Requesting state transfer failed: Not in primary "
    "component. Will keep retrying every 1 second(s)\n"
)
NON_PRIMARY = (
    "2026-12-02  0:01:07 0 [Note] WSREP: New COMPONENT: primary = no, bootstrap = no, "
    "my_idx = 0, memb_num = 1\n"
)
# Started while every peer is down: gcomm waits in a view of its own until
# pc.wait_prim_timeout, and says so before any "New COMPONENT" line.
PEERS_REFUSE = (
    "2026-12-02  6:50:59 0 [Note] WSREP: Failed to establish connection: Connection refused\n"
    "2026-12-02  6:51:00 0 [Note] WSREP: No nodes coming from primary view, primary view is "
    "not possible\n"
    "2026-12-02  6:51:00 0 [Note] WSREP: view(view_id(NON_PRIM,bb75de63-81db,1) memb {\n"
)


def watch_after(tmp_path: Path, before: str = BEFORE) -> tuple[JoinWatch, Path]:
    log = tmp_path / "mariadbd.err"
    log.write_text(before)  # what the log held before this start does not count
    return JoinWatch(log, START), log


def append(log: Path, text: str) -> None:
    with log.open("a") as f:
        f.write(text)


@pytest.mark.parametrize(
    ("later", "untouched"),
    [
        (WAITING, True),
        (WAITING + "x [Note] WSREP: Requesting state transfer: success, donor: 1\n", False),
        (WAITING + "x [Note] WSREP: Shifting JOINER -> JOINED (TO: 24)\n", False),
        (WAITING + "x [Note] WSREP: Shifting SYNCED -> DONOR/DESYNCED (TO: 24)\n", False),
        ("x [Note] WSREP: Shifting JOINER -> JOINED (TO: 24)\n" + WAITING, False),
        (NON_PRIMARY, True),
        (NON_PRIMARY + "x [Note] WSREP: Requesting state transfer: success, donor: 1\n", False),
        (PEERS_REFUSE, True),
        (PEERS_REFUSE + "x [Note] WSREP: Requesting state transfer: success, donor: 1\n", False),
    ],
    ids=[
        "waiting-for-a-donor",
        "donor-assigned",
        "transfer-finished",
        "donor-itself",
        "synced-then-waiting",
        "never-reached-a-primary-component",
        "non-primary-then-donor-assigned",
        "peers-refuse-connections",
        "peers-refuse-then-donor-assigned",
    ],
)
def test_only_a_join_that_never_got_a_donor_is_untouched(
    tmp_path: Path, later: str, untouched: bool
) -> None:
    watch, log = watch_after(tmp_path)
    assert watch.untouched_at() is None  # no evidence yet: nothing is claimed
    append(log, later)
    assert watch.untouched_at() == (START if untouched else None)
    append(log, WAITING)  # once touched, always touched
    assert watch.untouched_at() == (START if untouched else None)


def test_a_marker_split_between_two_reads_is_found(tmp_path: Path) -> None:
    watch, log = watch_after(tmp_path, "")
    append(log, WAITING + "x [Note] WSREP: Requesting state tra")
    assert watch.untouched_at() == START
    append(log, "nsfer: success, donor: 0\n")
    assert watch.untouched_at() is None


def test_an_unknown_start_position_is_never_untouched(tmp_path: Path) -> None:
    log = tmp_path / "mariadbd.err"
    log.write_text(WAITING)
    assert JoinWatch(log, None).untouched_at() is None


@pytest.mark.parametrize("change", ["rotated", "truncated", "removed"])
def test_a_log_that_cannot_be_followed_proves_nothing(tmp_path: Path, change: str) -> None:
    watch, log = watch_after(tmp_path, BEFORE * 100)
    append(log, WAITING)
    assert watch.untouched_at() == START
    if change == "rotated":
        log.rename(tmp_path / "mariadbd.err.1")
        log.write_text(BEFORE * 200 + WAITING)  # a new file, already past the old offset
    elif change == "truncated":
        log.write_text(WAITING)
    else:
        log.unlink()
    assert watch.untouched_at() is None
    if change == "removed":
        log.write_text(WAITING)
    assert watch.untouched_at() is None


def test_a_missing_or_relative_log_proves_nothing(tmp_path: Path) -> None:
    assert JoinWatch(tmp_path / "none.err", START).untouched_at() is None
    assert JoinWatch(Path("mariadbd.err"), START).untouched_at() is None


IST_FAILED = (
    "2026-12-02  6:12:23 6 [ERROR] WSREP: Receiving IST failed, node restart required: IST "
    "receiver reported failure: 'IST didn't contain all write sets, expected last: 368 last "
    "received: 367' (71)\n"
)


def test_a_failed_state_transfer_asks_for_a_restart(tmp_path: Path) -> None:
    watch, log = watch_after(tmp_path, BEFORE + IST_FAILED)  # an earlier start's: ignored
    append(log, "x [Note] WSREP: Requesting state transfer: success, donor: 0\n")
    watch.scan()
    assert not watch.restart_required
    append(log, IST_FAILED)
    watch.scan()
    assert watch.restart_required
    assert watch.untouched_at() is None


def test_the_watch_stops_reading_once_synced(tmp_path: Path) -> None:
    watch, log = watch_after(tmp_path)
    append(log, "x [Note] WSREP: Shifting JOINED -> SYNCED (TO: 24)\n")
    watch.scan()
    assert watch.synced
    append(log, IST_FAILED)  # never happens after a join ends; the watch no longer looks
    watch.scan()
    assert not watch.restart_required


SYNCED = "2026-12-02  0:01:09 0 [Note] WSREP: Shifting JOINED -> SYNCED (TO: 30)\n"
TRANSFER_AGAIN = (
    "2026-12-02  0:05:00 2 [Note] WSREP: State transfer required: \n"
    "\tGroup state: 8d4a1b5e-1111-11f1-8000-000000000000:80\n"
)


def test_a_log_this_run_created_is_read_from_its_start(tmp_path: Path) -> None:
    """No log before the start: nothing proves the join untouched (it counts as touched),
    but the Synced line the new log holds is seen."""
    log = tmp_path / "mariadbd.err"
    watch = JoinWatch(log, START)
    log.write_text(WAITING + SYNCED)
    watch.scan()
    assert watch.received and watch.untouched_at() is None
    assert watch.synced and watch.holds_state


def test_holding_the_state_is_followed_after_synced(tmp_path: Path) -> None:
    """Synced, then a merge after a partition that needs a transfer, then Synced again."""
    watch, log = watch_after(tmp_path)
    assert not watch.holds_state
    with open(log, "a") as f:
        f.write(SYNCED)
    watch.scan()
    assert watch.holds_state
    with open(log, "a") as f:
        f.write(TRANSFER_AGAIN)
    watch.scan()
    assert not watch.holds_state
    with open(log, "a") as f:
        f.write(SYNCED)
    watch.scan()
    assert watch.holds_state


def test_a_start_that_forms_the_cluster_holds_its_state_from_the_start(tmp_path: Path) -> None:
    log = tmp_path / "mariadbd.err"
    log.write_text(BEFORE)
    assert JoinWatch(log, None, holds_state=True).holds_state
