"""What a fault run watches: the cluster, read without pause, and ``galeractl`` processes.

:class:`Watcher` reads every member over and over in a thread, as ``galeractl status`` does
(the same gathering and the same verdict), and keeps each read's verdict, so that the time a
cluster took to be healthy again can be read off afterwards. It also keeps every read that
saw a split brain: Primary components with different state UUIDs (two histories: both commit)
in one read, or the disjoint Primary components the product calls a split brain, seen on
two reads in a row (as ``status`` confirms it). :class:`Actor` runs one ``galeractl``
command (the controller, a rollout) as a subprocess and records its JSON events as they come.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from galera import observe
from galera.config.clusterfile import ClusterSpec
from galera.domain import health, quorum
from galera.domain.snapshot import Snapshot


@dataclass(frozen=True)
class Read:
    """One read of every member: when it started (``time.monotonic()``) and its verdict."""

    at: float
    verdict: str
    reason: str

    @property
    def healthy(self) -> bool:
        return self.verdict == health.Verdict.HEALTHY.value


@dataclass(frozen=True)
class SplitRead:
    at: float
    reason: str


def two_histories(snapshot: Snapshot) -> str | None:
    """Why this one read shows Primary components of different histories, or None."""
    primary: dict[str, list[str]] = {}
    for o in snapshot.data_members:
        if o.status is not None and o.status.primary:
            primary.setdefault(o.status.state_uuid, []).append(o.name)
    if len(primary) < 2:
        return None
    sides = "; ".join(f"{', '.join(names)} (uuid {uuid[:8]})" for uuid, names in primary.items())
    return f"Primary components of {len(primary)} histories in one read: {sides}"


class Watcher:
    """Reads the cluster every ``interval`` seconds in a thread until stopped."""

    def __init__(self, spec: ClusterSpec, interval: float = 0.5) -> None:
        self.spec = spec
        self.interval = interval
        self.errors = 0
        self._reads: list[Read] = []
        self._splits: list[SplitRead] = []
        self._transient: list[SplitRead] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watcher", daemon=True)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        credentials = self.spec.credentials()
        detected_before = False
        with futures.ThreadPoolExecutor(max_workers=2 * len(self.spec.members)) as pool:
            while not self._stop.is_set():
                at = time.monotonic()
                try:
                    snap = observe.gather(self.spec, credentials, pool, agents=False).snapshot
                except Exception:  # a read that failed as a whole says nothing: read again
                    self.errors += 1
                    self._stop.wait(self.interval)
                    continue
                verdict = health.cluster_verdict(snap)
                brain = quorum.split_brain(snap)
                split = two_histories(snap)
                with self._lock:
                    self._reads.append(Read(at, verdict.verdict.value, verdict.reason))
                    if split is None and brain.detected and detected_before:
                        split = f"split brain on two reads in a row: {brain.reason}"
                    elif brain.detected:
                        self._transient.append(SplitRead(at, brain.reason))
                    if split is not None:
                        self._splits.append(SplitRead(at, split))
                detected_before = brain.detected
                self._stop.wait(max(0.0, self.interval - (time.monotonic() - at)))

    def reads(self, since: float = 0.0, until: float = float("inf")) -> list[Read]:
        with self._lock:
            return [r for r in self._reads if since <= r.at < until]

    def split_reads(self, since: float = 0.0, until: float = float("inf")) -> list[SplitRead]:
        with self._lock:
            return [s for s in self._splits if since <= s.at < until]

    def transient_splits(self, since: float = 0.0, until: float = float("inf")) -> list[SplitRead]:
        """Reads on which the product saw a split brain that the next read did not confirm."""
        with self._lock:
            return [s for s in self._transient if since <= s.at < until]

    def latest(self) -> Read | None:
        with self._lock:
            return self._reads[-1] if self._reads else None

    def wait_unhealthy(self, since: float, timeout: float) -> float | None:
        """When a read started at ``since`` or later first saw the cluster unhealthy; None
        when it stayed healthy for ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            bad = [r for r in self.reads(since) if not r.healthy]
            if bad:
                return bad[0].at
            time.sleep(0.1)
        return None

    def wait_healthy(
        self, since: float, timeout: float, confirm: Callable[[], bool] = lambda: True
    ) -> float | None:
        """When the cluster was first healthy again, reading from ``since``: the start of
        the first of two healthy reads in a row after which ``confirm`` (``galeractl
        status``) agrees. None when that did not happen within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        checked = since
        while time.monotonic() < deadline:
            reads = self.reads(checked)
            for first, second in itertools.pairwise(reads):
                if first.healthy and second.healthy:
                    if confirm():
                        return first.at
                    checked = second.at
                    break
            else:
                time.sleep(0.2)
        return None


class Actor:
    """One ``galeractl`` command with ``-o json`` in the background (``prefix`` runs it in
    a network namespace); every event it prints is kept with the time it came."""

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        log_dir: Path,
        prefix: Sequence[str] = (),
    ) -> None:
        self.name = name
        self.events: list[tuple[float, dict[str, Any]]] = []
        self.log = log_dir / f"{name}.log"
        self._events_file = (log_dir / f"{name}.events.jsonl").open("a")
        with self.log.open("a") as err:
            self.proc = subprocess.Popen(
                [*prefix, sys.executable, "-m", "galera", *args, "-o", "json"],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
        self._reader = threading.Thread(target=self._read, name=name, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        for line in stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            self.events.append((time.monotonic(), event))
            stamped = {"at": time.strftime("%H:%M:%S") + f"{time.time() % 1:.3f}"[1:], **event}
            self._events_file.write(json.dumps(stamped) + "\n")
            self._events_file.flush()
        self._events_file.close()

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def of(
        self, kind: str, since: float = 0.0, until: float = float("inf")
    ) -> list[dict[str, Any]]:
        return [e for t, e in list(self.events) if e["event"] == kind and since <= t < until]

    def wait_for(
        self, kinds: Sequence[str], timeout: float, since: float = 0.0
    ) -> dict[str, Any] | None:
        """The first event of one of ``kinds`` since ``since`` (waiting up to ``timeout``),
        or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            events = [e for t, e in list(self.events) if t >= since]
            seen = next((e for e in events if e["event"] in kinds), None)
            if seen is not None or not self.alive:
                return seen
            time.sleep(0.05)
        return None

    def kill(self) -> None:
        """SIGKILL: a crash, nothing cleaned up."""
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self._reader.join(5)

    def stop(self, timeout: float = 60) -> None:
        """SIGTERM and its cleanup (SIGKILL after ``timeout``)."""
        if self.alive:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._reader.join(5)

    def wait(self, timeout: float) -> int | None:
        """The exit code once it ended (within ``timeout``), else None."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
