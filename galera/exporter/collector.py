"""One scrape: read every member in parallel, publish per-member and cluster-wide series.

A member that does not answer becomes ``mysql_up 0`` and counts in
``galera_exporter_member_errors_total``; the scrape itself never fails. Nothing here ever
runs ``FLUSH STATUS``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from galera import observe
from galera.config.clusterfile import ClusterSpec
from galera.domain import health, quorum
from galera.domain.snapshot import Observation, Snapshot
from galera.domain.status import LocalState
from galera.errors import GaleraError
from galera.exporter import compat
from galera.exporter.conflicts import ConflictWatcher
from galera.exporter.held import HeldDown

log = logging.getLogger("galera.exporter")

_STATES = [s.label for s in LocalState]

# The per-member cluster-wide families, in the order they are published:
# (kind, name, help, labels beside ``member``).
_MEMBER_FAMILIES: tuple[
    tuple[type[GaugeMetricFamily | CounterMetricFamily], str, str, tuple[str, ...]], ...
] = (
    (
        GaugeMetricFamily,
        "galera_member_available",
        "Clustercheck verdict of the member (1 available).",
        ("reason",),
    ),
    (
        GaugeMetricFamily,
        "galera_member_local_state",
        "The member's wsrep_local_state, one-hot.",
        ("state",),
    ),
    (
        GaugeMetricFamily,
        "galera_flow_control_active",
        "1 while flow control pauses replication.",
        (),
    ),
    (
        CounterMetricFamily,
        "galera_flow_control_paused_seconds",
        "Time replication was paused by flow control.",
        (),
    ),
    (
        GaugeMetricFamily,
        "galera_ist_window_writesets",
        "Write sets this member's gcache can serve by IST.",
        (),
    ),
    (GaugeMetricFamily, "galera_evs_delayed_peers", "Peers on the EVS delayed list.", ()),
    (GaugeMetricFamily, "galera_evs_evicted_peers", "Peers on the EVS evict list.", ()),
    (
        GaugeMetricFamily,
        "galera_view_conf_id",
        "Configuration (view) id; it rises at every view change.",
        (),
    ),
    (
        CounterMetricFamily,
        "galera_exporter_member_errors",
        "Scrapes in which the member did not answer.",
        (),
    ),
)


def cluster_values(q: quorum.Quorum, brain: quorum.SplitBrain) -> list[tuple[str, str, float]]:
    """The cluster-wide gauges, as (name, help, value), in the order they are published."""
    nan = math.nan
    return [
        (
            "galera_quorum_margin_members",
            "Members that can vanish at once with quorum kept (NaN without a Primary).",
            nan if q.margin_members is None else q.margin_members,
        ),
        (
            "galera_quorum_margin_weight",
            "pc.weight that can vanish at once with quorum kept (NaN without a Primary).",
            nan if q.margin_weight is None else q.margin_weight,
        ),
        ("galera_expected_size", "Members the cluster file declares.", q.expected_size),
        ("galera_primary_component_size", "Members in the Primary component.", q.size),
        (
            "galera_members_missing",
            "Expected members not in the Primary component.",
            max(q.expected_size - q.size, 0),
        ),
        (
            "galera_split_brain",
            "1 when more than one Primary component can commit (disjoint views or "
            "different histories), seen on two reads.",
            1.0 if brain.detected else 0.0,
        ),
        (
            "galera_primary_components",
            "Number of Primary components that can commit (stale views left out).",
            len(brain.components),
        ),
        (
            "galera_stale_view_members",
            "Members still reporting an older Primary view the others have left "
            "(e.g. resumed after a pause); never a split brain.",
            stale_members(brain),
        ),
    ]


def stale_members(brain: quorum.SplitBrain) -> int:
    return sum(len(v.reporters) for v in brain.stale)


def member_samples(
    o: Observation, verdict: health.MemberVerdict
) -> Iterator[tuple[str, tuple[str, ...], float]]:
    """One member's per-member cluster-wide samples: (family, extra label values, value)."""
    yield "galera_member_available", (verdict.reason,), 1.0 if verdict.healthy else 0.0
    s = o.status
    if s is None:
        return
    for label in _STATES:
        yield "galera_member_local_state", (label,), 1.0 if s.local_state.label == label else 0.0
    yield "galera_flow_control_active", (), 1.0 if s.flow_control_active else 0.0
    yield "galera_flow_control_paused_seconds", (), s.flow_control_paused_ns / 1e9
    if 0 < s.cached_downto <= s.last_committed + 1:
        yield "galera_ist_window_writesets", (), float(s.last_committed - s.cached_downto + 1)
    yield "galera_evs_delayed_peers", (), float(len(s.evs_delayed))
    yield "galera_evs_evicted_peers", (), float(len(s.evs_evict_list))
    if s.conf_id is not None:
        yield "galera_view_conf_id", (), float(s.conf_id)


class Standby(Collector):
    """What a controller that does not hold the Lease publishes: only that fact."""

    def __init__(self, const_labels: dict[str, str] | None = None) -> None:
        self.const = dict(const_labels or {})

    def collect(self) -> Iterator[Metric]:
        leader = GaugeMetricFamily(
            "galeractl_controller_leader",
            "1 when this controller holds the cluster's Lease (and publishes its series)",
            labels=list(self.const),
        )
        leader.add_metric(list(self.const.values()), 0)
        yield leader


class GaleraCollector(Collector):
    """A prometheus_client collector for every member of one cluster file."""

    SPLIT_BRAIN_SETTLE = 1.0

    def __init__(
        self,
        spec: ClusterSpec,
        const_labels: dict[str, str] | None = None,
        conflict_watcher: ConflictWatcher | None = None,
    ) -> None:
        self.spec = spec
        self.watcher = conflict_watcher
        self.const = dict(const_labels or {})
        self.credentials = spec.credentials()
        self._errors: dict[str, int] = {m.name: 0 for m in spec.members if not m.arbitrator}
        self._stale_reads = 0
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=max(len(spec.members), 1))
        # A standby controller (another one holds the Lease) publishes only that fact, so
        # that two controller replicas never double the cluster's series and alerts.
        self.active = True
        # The maintenance pause in force (galeractl pause), read from the platform's
        # records by whoever runs the exporter; None: not published.
        self.maintenance: Callable[[], dict[str, Any] | None] | None = None
        # The members the controller holds down (its /metrics only; None for the exporter).
        self.held: HeldDown | None = None

    def rediscovered(self, spec: ClusterSpec) -> None:
        """The same members at new addresses (on Kubernetes a replaced pod has a new IP)."""
        self.spec = spec
        if self.watcher is not None:
            self.watcher.update(spec)

    def _labels(self, **labels: str) -> tuple[list[str], list[str]]:
        merged = {**self.const, **labels}
        return list(merged), list(merged.values())

    def _gather(self) -> observe.Gathering:
        """Every member read once in parallel (SQL only: a scrape never calls the agents)."""
        gathering = observe.gather(
            self.spec, self.credentials, self._pool, agents=False, hints=False
        )
        with self._lock:
            for o in gathering.snapshot.data_members:
                if o.status is None:
                    self._errors[o.name] = self._errors.get(o.name, 0) + 1
        return gathering

    def collect(self) -> Iterator[Metric]:
        if not self.active:
            yield from Standby(self.const).collect()
            return
        started = time.perf_counter()
        # Views read during a view change can disagree for a moment: a split brain is
        # published only when a second read a moment later still shows it.
        gathering = observe.confirmed(self._gather, self.SPLIT_BRAIN_SETTLE)
        yield from self._compatible(gathering.readings)
        yield from self._cluster(gathering.snapshot)
        yield from self._tls(gathering.readings)
        yield from self._paused()
        yield self._gauge(
            "galera_exporter_scrape_duration_seconds",
            "Time this scrape took",
            time.perf_counter() - started,
        )

    def _paused(self) -> Iterator[Metric]:
        """Maintenance mode, and until when the person who paused expected it to last."""
        if self.maintenance is None:
            return
        try:
            pause = self.maintenance()
        except GaleraError as e:
            log.warning("cannot read the maintenance record: %s", e)
            return
        yield self._gauge(
            "galera_cluster_paused",
            "1 while the cluster is in maintenance mode (galeractl pause): no automatic action.",
            1.0 if pause else 0.0,
        )
        if pause:
            yield self._gauge(
                "galera_cluster_paused_since_timestamp_seconds",
                "When the maintenance pause began (Unix time).",
                float(pause.get("at") or 0),
            )
            yield self._gauge(
                "galera_cluster_pause_expected_end_timestamp_seconds",
                "When the person who paused expected the pause to end (Unix time).",
                float(pause.get("until") or 0),
            )

    def _gauge(self, name: str, doc: str, number: float) -> GaugeMetricFamily:
        keys, values = self._labels()
        gauge = GaugeMetricFamily(name, doc, labels=keys)
        gauge.add_metric(values, number)
        return gauge

    # -- mysqld_exporter-compatible ------------------------------------------------------

    def _compatible(self, readings: Iterable[observe.Reading]) -> Iterator[Metric]:
        keys, _ = self._labels(member="")
        up = GaugeMetricFamily("mysql_up", "Whether the MySQL server is up.", labels=keys)
        families: dict[str, GaugeMetricFamily] = {}
        for reading in readings:
            if reading.member.arbitrator:
                continue
            up.add_metric(self._labels(member=reading.member.name)[1], 1.0 if reading.raw else 0.0)
            if reading.raw is None:
                continue
            for sample in compat.series(reading.member.name, reading.raw):
                k, v = self._labels(**sample.labels)
                if sample.name not in families:
                    families[sample.name] = GaugeMetricFamily(sample.name, sample.doc, labels=k)
                families[sample.name].add_metric(v, sample.value)
        yield up
        yield from families.values()

    def _tls(self, readings: Iterable[observe.Reading]) -> Iterator[Metric]:
        """Whether galeractl reaches the members over TLS, and when each member's served
        certificate expires (the alert fires two weeks before)."""
        yield self._gauge(
            "galera_tls_enabled",
            "1 when the exporter verifies the members over TLS (the cluster file names a CA).",
            1.0 if self.spec.tls_ca is not None else 0.0,
        )
        keys, _ = self._labels(member="")
        expiry = GaugeMetricFamily(
            "galera_tls_certificate_expiry_timestamp_seconds",
            "When the certificate the member presents to clients expires (Unix time).",
            labels=keys,
        )
        for reading in readings:
            if reading.raw is not None and reading.raw.tls_not_after is not None:
                expiry.add_metric(
                    self._labels(member=reading.member.name)[1], reading.raw.tls_not_after
                )
        yield expiry

    # -- cluster-wide --------------------------------------------------------------------

    def _cluster(self, snapshot: Snapshot) -> Iterator[Metric]:
        brain = quorum.split_brain(snapshot)
        verdict = health.cluster_verdict(snapshot)
        for name, doc, number in cluster_values(quorum.assess(snapshot), brain):
            yield self._gauge(name, doc, number)
        yield self._stale_counter(brain)
        keys, values = self._labels()
        cluster = GaugeMetricFamily(
            "galera_cluster_verdict", "1 for the current verdict.", labels=[*keys, "verdict"]
        )
        for v in health.Verdict:
            cluster.add_metric([*values, v.value], 1.0 if v is verdict.verdict else 0.0)
        yield cluster
        yield from self._members(snapshot, verdict)
        if self.held is not None:
            yield self.held.family(snapshot, self.const)
        if self.watcher is not None:
            yield self._conflicts(self.watcher)

    def _stale_counter(self, brain: quorum.SplitBrain) -> CounterMetricFamily:
        keys, values = self._labels()
        with self._lock:
            if stale_members(brain):
                self._stale_reads += 1
            count = self._stale_reads
        seen = CounterMetricFamily(
            "galera_stale_view_reads",
            "Reads of the cluster in which some member reported a stale view.",
            labels=keys,
        )
        seen.add_metric(values, count)
        return seen

    def _members(self, snapshot: Snapshot, verdict: health.ClusterHealth) -> Iterator[Metric]:
        mk, _ = self._labels(member="")
        families = {
            name: kind(name, doc, labels=[*mk, *extra])
            for kind, name, doc, extra in _MEMBER_FAMILIES
        }
        verdicts = {v.name: v for v in verdict.members}
        for o in snapshot.data_members:
            _, lv = self._labels(member=o.name)
            with self._lock:
                errors = float(self._errors.get(o.name, 0))
            families["galera_exporter_member_errors"].add_metric(lv, errors)
            for name, extra, number in member_samples(o, verdicts[o.name]):
                families[name].add_metric([*lv, *extra], number)
        yield from families.values()

    def _conflicts(self, watcher: ConflictWatcher) -> CounterMetricFamily:
        mk, _ = self._labels(member="")
        counts = CounterMetricFamily(
            "galera_conflicts",
            "Logged certification conflicts per member and table.",
            labels=[*mk, "table"],
        )
        for (member, table), count in sorted(watcher.snapshot().items()):
            counts.add_metric([*self._labels(member=member)[1], table], float(count))
        return counts
