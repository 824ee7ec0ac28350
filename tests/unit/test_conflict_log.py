"""The conflict-log parser: real MariaDB 10.11 entries, interleaving, truncation, garbage."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from galera.domain import conflicts

ENTRY = """\
2026-11-25 14:41:52 7 [Note] WSREP: cluster conflict due to high priority abort for threads:
2026-11-25 14:41:52 7 [Note] WSREP: Winning thread:
   THD: 7, mode: high priority, state: exec, conflict: executing, seqno: 34
   SQL: UPDATE shop.stock SET qty=qty-1 WHERE id=1\ufffd\ufffdk
2026-11-25 14:41:52 7 [Note] WSREP: Victim thread:
   THD: 55, mode: local, state: exec, conflict: certifying, seqno: -1
   SQL: COMMIT
2026-11-25 14:41:52 7 [Note] WSREP: context: ./storage/innobase/handler/ha_innodb.cc:18834
""".replace("thread:\n", "thread: \n")  # MariaDB ends these two lines with a space
CERT = (
    "2026-11-25 14:41:52 1 [Note] WSREP: UP-UP trx conflict for key (2,FLAT8)867c8ccc "
    "06002c00: source: 5526b4b5 version: 6 local: 1 flags: 65 conn_id: 55\n"
)


def test_a_real_entry_is_parsed_with_both_sides_and_the_table() -> None:
    [entry] = conflicts.parse(ENTRY.splitlines())
    assert entry.complete and entry.cause == "high priority abort"
    assert (entry.winner.thread, entry.winner.seqno) == (7, 34)
    assert entry.winner.sql == "UPDATE shop.stock SET qty=qty-1 WHERE id=1"
    assert (entry.victim.thread, entry.victim.mode, entry.victim.sql) == (55, "local", "COMMIT")
    assert entry.tables == ["shop.stock"]


def test_an_entry_before_ten_o_clock_is_parsed_with_a_sortable_time() -> None:
    """MariaDB pads the hour with a space ("2026-12-02  0:32:29"): entries from midnight to
    10 a.m. were dropped, and their times must compare with a "--since" cutoff."""
    early = ENTRY.replace("2026-11-25 14:41:52", "2026-12-02  0:32:29")
    [entry] = conflicts.parse(early.splitlines())
    assert entry.complete and entry.tables == ["shop.stock"]
    assert entry.at == "2026-12-02 00:32:29"
    assert "2026-12-02 00:30:00" <= entry.at < "2026-12-02 10:00:00"


def test_lines_of_other_threads_in_between_do_not_break_an_entry() -> None:
    lines = ENTRY.splitlines()
    noisy = [
        *lines[:3],
        CERT.strip(),
        "2026-11-25 14:41:52 0 [Note] WSREP: Member 2.0 synced",
        *lines[3:],
    ]
    [entry] = conflicts.parse(noisy)
    assert entry.complete and entry.tables == ["shop.stock"]


def test_a_truncated_entry_is_returned_incomplete() -> None:
    entries = conflicts.parse(ENTRY.splitlines()[:4] + ENTRY.splitlines())
    assert [e.complete for e in entries] == [False, True]
    assert entries[0].winner.sql is not None and entries[0].victim.sql is None


def test_summary_counts_tables_and_statement_shapes() -> None:
    text = ENTRY + ENTRY.replace("shop.stock", "`shop`.`orders`").replace("id=1", "id=99")
    summary = conflicts.summarise(conflicts.parse((text * 2).splitlines()))
    assert summary.conflicts == 4
    assert dict(summary.tables) == {"shop.stock": 2, "shop.orders": 2}
    assert dict(summary.statements) == {
        "UPDATE shop.stock SET qty=qty-? WHERE id=?": 2,
        "UPDATE `shop`.`orders` SET qty=qty-? WHERE id=?": 2,
    }


def test_tables_of_common_statements() -> None:
    assert conflicts.tables_of("INSERT INTO a.b (x) VALUES (1)") == ["a.b"]
    assert conflicts.tables_of("delete from t where id=1") == ["t"]
    assert conflicts.tables_of("REPLACE INTO `s`.`t` VALUES (1)") == ["s.t"]
    assert conflicts.tables_of("UPDATE LOW_PRIORITY t SET x=1") == ["t"]
    assert conflicts.tables_of("COMMIT") == []


@given(st.lists(st.text(), max_size=30))
def test_garbage_lines_never_raise(lines: list[str]) -> None:
    entries = conflicts.parse(lines)
    assert all(isinstance(e, conflicts.Conflict) for e in entries)


@given(st.integers(min_value=0, max_value=len(ENTRY)), st.lists(st.text(), max_size=5))
def test_an_entry_cut_anywhere_and_mixed_with_garbage_never_raises(
    cut: int, noise: list[str]
) -> None:
    lines = (ENTRY[:cut]).splitlines() + noise + ENTRY.splitlines()
    entries = conflicts.parse(lines)
    assert entries and entries[-1].complete
    assert conflicts.summarise(entries).conflicts == len(entries)
