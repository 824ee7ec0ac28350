"""Parsing certification conflicts from a MariaDB 10.4+ error log (``wsrep_log_conflicts``).

An entry looks like::

    2026-11-25 14:41:52 7 [Note] WSREP: cluster conflict due to high priority abort for threads:
    2026-11-25 14:41:52 7 [Note] WSREP: Winning thread:
       THD: 7, mode: high priority, state: exec, conflict: executing, seqno: 34
       SQL: UPDATE shop.stock SET qty=qty-1 WHERE id=1
    2026-11-25 14:41:52 7 [Note] WSREP: Victim thread:
       THD: 55, mode: local, state: exec, conflict: certifying, seqno: -1
       SQL: COMMIT
    2026-11-25 14:41:52 7 [Note] WSREP: context: ./storage/innobase/handler/ha_innodb.cc:18834

Lines of other threads may come in between, and a log may end in the middle of an entry;
the parser never raises on such input, it returns what it could read.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

# MariaDB pads the hour with a space: "2026-12-02  0:32:29" before 10 o'clock.
_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2})\s+(\d{1,2}:\d{2}:\d{2})\s+(\d+)\s+\[\w+\]\s+(.*)$")
_START = re.compile(r"WSREP: cluster conflict due to (.+?) for threads")
_THD = re.compile(r"THD:\s*(\d+).*?mode:\s*([^,]+).*?seqno:\s*(-?\d+)")
_TABLE = re.compile(
    r"\b(?:UPDATE(?:\s+LOW_PRIORITY|\s+IGNORE)*|INSERT(?:\s+IGNORE)?\s+INTO|REPLACE\s+INTO|"
    r"DELETE(?:\s+\w+)*\s+FROM|INSERT(?:\s+IGNORE)?)\s+((?:`[^`]+`|\w+)(?:\s*\.\s*(?:`[^`]+`|\w+))?)",
    re.IGNORECASE,
)
_LITERALS = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\b\d+(?:\.\d+)?\b")


@dataclass
class Side:
    thread: int | None = None
    mode: str = ""
    seqno: int | None = None
    sql: str | None = None


@dataclass
class Conflict:
    """One logged conflict: when, why, the winning and the victim transaction."""

    at: str
    cause: str
    winner: Side = field(default_factory=Side)
    victim: Side = field(default_factory=Side)
    complete: bool = False

    @property
    def tables(self) -> list[str]:
        """Tables named by either side's SQL (the victim often only says COMMIT)."""
        found: list[str] = []
        for side in (self.victim, self.winner):
            for table in tables_of(side.sql or ""):
                if table not in found:
                    found.append(table)
        return found


def _clean(text: str) -> str:
    """Printable text only: applier SQL is logged with the raw bytes that follow it."""
    for index, ch in enumerate(text):
        if ch == "\ufffd" or not ch.isprintable():
            return text[:index].strip()
    return text.strip()


def tables_of(sql: str) -> list[str]:
    """``schema.table`` names written to by a statement (backquotes removed)."""
    return [re.sub(r"[`\s]", "", m.group(1)) for m in _TABLE.finditer(sql)]


def normalise(sql: str) -> str:
    """A statement with its literals replaced by ``?``, so equal shapes count together."""
    return re.sub(r"\s+", " ", _LITERALS.sub("?", _clean(sql)))[:300]


def parse(lines: Iterable[str]) -> list[Conflict]:
    """Every conflict entry in ``lines``; partial ones are returned with ``complete=False``."""
    entries: list[Conflict] = []
    current: Conflict | None = None
    side: Side | None = None
    for raw in lines:
        line = raw.rstrip("\n")
        stamped = _STAMP.match(line)
        if stamped:
            message = stamped.group(4)
            start = _START.search(message)
            if start:
                at = f"{stamped.group(1)} {stamped.group(2).zfill(8)}"  # 2026-12-02 00:32:29
                current = Conflict(at=at, cause=start.group(1))
                entries.append(current)
                side = None
            elif current is not None and "WSREP: Winning thread" in message:
                side = current.winner
            elif current is not None and "WSREP: Victim thread" in message:
                side = current.victim
            elif current is not None and "WSREP: context:" in message:
                current.complete = True
                current, side = None, None
            continue
        if side is None:
            continue
        body = line.strip()
        thd = _THD.search(body)
        if body.startswith("THD:") and thd:
            side.thread, side.mode, side.seqno = int(thd.group(1)), thd.group(2), int(thd.group(3))
        elif body.startswith("SQL:"):
            side.sql = _clean(body[4:])
    return entries


@dataclass(frozen=True)
class Summary:
    conflicts: int
    tables: list[tuple[str, int]]
    statements: list[tuple[str, int]]


def summarise(entries: Iterable[Conflict], top: int = 10) -> Summary:
    """Most conflicting tables and statement shapes, most frequent first."""
    tables: Counter[str] = Counter()
    statements: Counter[str] = Counter()
    count = 0
    for entry in entries:
        count += 1
        for table in entry.tables or ["(unknown)"]:
            tables[table] += 1
        for side in (entry.winner, entry.victim):
            if side.sql and side.sql.upper() not in ("COMMIT", "NULL"):
                statements[normalise(side.sql)] += 1
    return Summary(count, tables.most_common(top), statements.most_common(top))
