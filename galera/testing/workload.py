"""A continuous writer and a checker: proof that nothing acknowledged was lost.

Writers insert uniquely identified rows through several members, reconnecting to the next
member on any error, and record every write the server acknowledged (the ``INSERT`` in
autocommit returned). A write whose answer was lost is *in doubt*: it may or may not exist.
The checker then proves that every acknowledged row exists on every member and that all
members hold identical rows. Requests are bounded: a writer pauses between writes and stops
when told to or after ``max_seconds``.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from galera import sql
from galera.domain.credentials import Credentials
from galera.errors import GaleraError

SCHEMA = "galeractl_check"
TABLE = f"{SCHEMA}.acked"


def prepare(endpoints: list[sql.Endpoint], credentials: Credentials) -> None:
    """Create the schema and table through the first member that answers."""
    statements = [
        f"CREATE DATABASE IF NOT EXISTS {SCHEMA}",
        f"CREATE TABLE IF NOT EXISTS {TABLE} (id VARCHAR(64) PRIMARY KEY, "
        "writer INT NOT NULL, via VARCHAR(64) NOT NULL, at DOUBLE NOT NULL) ENGINE=InnoDB",
    ]
    last: GaleraError | None = None
    for endpoint in endpoints:
        try:
            sql.execute(endpoint, credentials, statements)
            return
        except GaleraError as e:
            last = e
    raise last or GaleraError("no endpoint")


@dataclass
class WriterStats:
    acked: set[str] = field(default_factory=set)
    in_doubt: set[str] = field(default_factory=set)
    errors: int = 0
    reconnects: int = 0
    longest_stall: float = 0.0


class Writer:
    """``threads`` writers, writer *i* starting on member *i* and moving on after an error."""

    def __init__(
        self,
        endpoints: list[sql.Endpoint],
        credentials: Credentials,
        threads: int = 3,
        pause: float = 0.01,
        max_seconds: float = 600.0,
    ) -> None:
        self.endpoints = endpoints
        self.credentials = credentials
        self.threads = threads
        self.pause = pause
        self.max_seconds = max_seconds
        self.stats = WriterStats()
        self.run_id = secrets.token_hex(4)  # row ids stay unique across runs on one table
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def __enter__(self) -> Writer:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> None:
        prepare(self.endpoints, self.credentials)
        for i in range(self.threads):
            worker = threading.Thread(target=self._run, args=(i,), daemon=True)
            worker.start()
            self._workers.append(worker)

    def stop(self) -> WriterStats:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=30)
        return self.stats

    def wait_for_acks(self, count: int, timeout: float = 60) -> None:
        """Block until at least ``count`` writes were acknowledged in total."""
        deadline = time.monotonic() + timeout
        while len(self.stats.acked) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(self.stats.acked)} acknowledged writes")
            time.sleep(0.05)

    def _run(self, writer: int) -> None:
        started = time.monotonic()
        index = writer % len(self.endpoints)
        seq = 0
        conn: Any = None
        last_ack = time.monotonic()
        while not self._stop.is_set() and time.monotonic() - started < self.max_seconds:
            endpoint = self.endpoints[index]
            row_id = f"{self.run_id}-{writer}-{seq}"
            try:
                if conn is None:
                    conn = sql.connect(endpoint, self.credentials)
                with conn.cursor() as cur:
                    cur.execute(
                        f"INSERT INTO {TABLE} (id, writer, via, at) VALUES (%s,%s,%s,%s)",
                        (row_id, writer, endpoint.describe(), time.time()),
                    )
            except Exception:  # any failure: the write is in doubt, move to the next member
                with self._lock:
                    self.stats.in_doubt.add(row_id)
                    self.stats.errors += 1
                    self.stats.reconnects += 1
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.close()
                conn = None
                index = (index + 1) % len(self.endpoints)
                seq += 1
                self._stop.wait(0.1)
                continue
            now = time.monotonic()
            with self._lock:
                self.stats.acked.add(row_id)
                self.stats.longest_stall = max(self.stats.longest_stall, now - last_ack)
            last_ack = now
            seq += 1
            self._stop.wait(self.pause)
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    rows: dict[str, int]
    missing: dict[str, list[str]]
    identical: bool
    message: str


def check(endpoints: list[sql.Endpoint], credentials: Credentials, acked: set[str]) -> CheckResult:
    """Every acknowledged row on every member, and the same rows on all members."""
    contents: dict[str, set[str]] = {}
    for endpoint in endpoints:
        conn = sql.connect(endpoint, credentials)
        try:
            with conn.cursor() as cur:
                cur.execute("SET SESSION wsrep_sync_wait = 1")
                cur.execute(f"SELECT id FROM {TABLE}")
                contents[endpoint.describe()] = {str(r[0]) for r in cur.fetchall()}
        finally:
            conn.close()
    missing = {name: sorted(acked - rows)[:20] for name, rows in contents.items() if acked - rows}
    sets = list(contents.values())
    identical = all(s == sets[0] for s in sets)
    ok = not missing and identical
    counts = {name: len(rows) for name, rows in contents.items()}
    if ok:
        message = f"{len(acked)} acknowledged rows present on all {len(sets)} members, identical"
    else:
        message = (f"lost acknowledged rows: {missing}" if missing else "") + (
            "" if identical else f"; members differ: row counts {counts}"
        )
    return CheckResult(ok, counts, missing, identical, message.strip("; "))


def _causal(
    endpoint: sql.Endpoint, credentials: Credentials, statement: str, args: Any = None
) -> Any:
    """One statement's rows, read after every transaction the cluster committed before it
    (``wsrep_sync_wait``: a member still applying its queue answers only once caught up)."""
    conn = sql.connect(endpoint, credentials)
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION wsrep_sync_wait = 1")
            cur.execute(statement, args)
            return cur.fetchall()
    finally:
        conn.close()


def absent(
    endpoints: list[sql.Endpoint], credentials: Credentials, ids: set[str], chunk: int = 2000
) -> dict[str, set[str]]:
    """Of ``ids``, those each member lacks (causal reads); members lacking none are left out."""
    wanted = sorted(ids)
    missing: dict[str, set[str]] = {}
    for endpoint in endpoints:
        found: set[str] = set()
        for start in range(0, len(wanted), chunk):
            part = wanted[start : start + chunk]
            marks = ",".join(["%s"] * len(part))
            rows = _causal(
                endpoint, credentials, f"SELECT id FROM {TABLE} WHERE id IN ({marks})", part
            )
            found.update(str(r[0]) for r in rows)
        if set(wanted) - found:
            missing[endpoint.describe()] = set(wanted) - found
    return missing


def checksums(endpoints: list[sql.Endpoint], credentials: Credentials) -> dict[str, int | None]:
    """``CHECKSUM TABLE`` of the writers' table on every member (causal reads)."""
    return {
        e.describe(): _causal(e, credentials, f"CHECKSUM TABLE {TABLE}")[0][1] for e in endpoints
    }
