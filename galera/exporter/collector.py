"""One scrape: read every member in parallel, publish per-member and cluster-wide series.

A member that does not answer becomes ``mysql_up 0`` and counts in
``galera_exporter_member_errors_total``; the scrape itself never fails. Nothing here ever
runs ``FLUSH STATUS``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from galera import sql
from galera.config import endpoints
from galera.config.clusterfile import ClusterSpec, MemberSpec
from galera.domain import health, quorum
from galera.domain.snapshot import Observation, Snapshot
from galera.domain.status import LocalState, parse_size, provider_options
from galera.errors import GaleraError
from galera.exporter import compat
from galera.exporter.conflicts import ConflictWatcher

_STATES = [s.label for s in LocalState]


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

    def rediscovered(self, spec: ClusterSpec) -> None:
        """The same members at new addresses (on Kubernetes a replaced pod has a new IP)."""
        self.spec = spec
        if self.watcher is not None:
            self.watcher.update(spec)

    def _labels(self, **labels: str) -> tuple[list[str], list[str]]:
        merged = {**self.const, **labels}
        return list(merged), list(merged.values())

    def _read(self, member: MemberSpec) -> tuple[MemberSpec, sql.Raw | None, str | None]:
        endpoint = endpoints.of_member(self.spec, member)
        try:
            return member, sql.fetch_raw(endpoint, self.credentials, member.name), None
        except GaleraError as e:
            return member, None, e.message

    def collect(self) -> Iterator[Metric]:
        if not self.active:
            yield from Standby(self.const).collect()
            return
        started = time.perf_counter()
        data = [m for m in self.spec.members if not m.arbitrator]
        snapshot, raws = self._observe(data)
        if quorum.split_brain(snapshot).detected:
            # Views read during a view change can disagree for a moment: a split brain is
            # published only when a second read a moment later still shows it.
            time.sleep(self.SPLIT_BRAIN_SETTLE)
            snapshot, raws = self._observe(data)
        yield from self._compatible(data, raws)
        yield from self._cluster(snapshot)
        keys, _ = self._labels()
        duration = GaugeMetricFamily(
            "galera_exporter_scrape_duration_seconds", "Time this scrape took", labels=keys
        )
        duration.add_metric(self._labels()[1], time.perf_counter() - started)
        yield duration

    # -- mysqld_exporter-compatible ------------------------------------------------------

    def _observe(self, data: list[MemberSpec]) -> tuple[Snapshot, dict[str, sql.Raw]]:
        """One snapshot of every member, read in parallel, and the raw rows behind it."""
        results = list(self._pool.map(self._read, data))
        observations = []
        raws: dict[str, sql.Raw] = {}
        for member, raw, error in results:
            status = None
            if raw is not None:
                try:
                    status = sql.parse_raw(raw, member.name)
                    raws[member.name] = raw
                except GaleraError as e:
                    error = e.message
            if status is None:
                with self._lock:
                    self._errors[member.name] += 1
            observations.append(
                Observation(
                    member.expected, status=status, error=error, host=member.host, port=member.port
                )
            )
        for member in self.spec.members:
            if member.arbitrator:
                observations.append(Observation(member.expected, host=member.host))
        order = {m.name: i for i, m in enumerate(self.spec.members)}
        observations.sort(key=lambda o: order[o.name])
        snapshot = Snapshot(tuple(observations), taken_at=time.time(), cluster_name=self.spec.name)
        return snapshot, raws

    def _compatible(self, data: list[MemberSpec], raws: dict[str, sql.Raw]) -> Iterator[Metric]:
        keys, _ = self._labels(member="")
        up = GaugeMetricFamily("mysql_up", "Whether the MySQL server is up.", labels=keys)
        families: dict[str, GaugeMetricFamily] = {}

        def add(name: str, doc: str, labels: dict[str, str], number: float) -> None:
            k, v = self._labels(**labels)
            if name not in families:
                families[name] = GaugeMetricFamily(name, doc, labels=k)
            families[name].add_metric(v, number)

        for member in data:
            raw = raws.get(member.name)
            up.add_metric(self._labels(member=member.name)[1], 1.0 if raw else 0.0)
            if raw is None:
                continue
            labels = {"member": member.name}
            for variable, text in sorted(raw.status.items()):
                if not variable.lower().startswith("wsrep_"):
                    continue
                number = compat.value(text)
                if number is not None:
                    add(
                        compat.metric_name("mysql_global_status_", variable),
                        "Generic metric from SHOW GLOBAL STATUS.",
                        labels,
                        number,
                    )
            for variable, text in sorted(raw.variables.items()):
                number = compat.value(text)
                if number is not None and variable.lower().startswith("wsrep_"):
                    add(
                        compat.metric_name("mysql_global_variables_", variable),
                        "Generic gauge metric from SHOW GLOBAL VARIABLES.",
                        labels,
                        number,
                    )
            info = {
                "member": member.name,
                "wsrep_local_state_uuid": raw.status.get("wsrep_local_state_uuid", ""),
                "wsrep_cluster_state_uuid": raw.status.get("wsrep_cluster_state_uuid", ""),
                "wsrep_provider_version": raw.status.get("wsrep_provider_version", ""),
            }
            add("mysql_galera_status_info", "PXC/Galera status information.", info, 1.0)
            add(
                "mysql_galera_variables_info",
                "PXC/Galera variables information.",
                {
                    "member": member.name,
                    "wsrep_cluster_name": raw.variables.get("wsrep_cluster_name", ""),
                },
                1.0,
            )
            options = provider_options(raw.variables.get("wsrep_provider_options", ""))
            if "gcache.size" in options:
                add(
                    "mysql_galera_gcache_size_bytes",
                    "PXC/Galera gcache size.",
                    labels,
                    float(parse_size(options["gcache.size"])),
                )
            for suffix, number in compat.evs_repl_latency(
                raw.status.get("wsrep_evs_repl_latency", "")
            ).items():
                add(
                    f"mysql_galera_evs_repl_latency_{suffix}",
                    "PXC/Galera group communication latency.",
                    labels,
                    number,
                )
        yield up
        yield from families.values()

    # -- cluster-wide --------------------------------------------------------------------

    def _cluster(self, snapshot: Snapshot) -> Iterator[Metric]:
        q = quorum.assess(snapshot)
        brain = quorum.split_brain(snapshot)
        verdict = health.cluster_verdict(snapshot)
        keys, values = self._labels()

        def gauge(name: str, doc: str, number: float) -> GaugeMetricFamily:
            g = GaugeMetricFamily(name, doc, labels=keys)
            g.add_metric(values, number)
            return g

        nan = math.nan
        yield gauge(
            "galera_quorum_margin_members",
            "Members that can vanish at once with quorum kept (NaN without a Primary).",
            nan if q.margin_members is None else q.margin_members,
        )
        yield gauge(
            "galera_quorum_margin_weight",
            "pc.weight that can vanish at once with quorum kept (NaN without a Primary).",
            nan if q.margin_weight is None else q.margin_weight,
        )
        yield gauge("galera_expected_size", "Members the cluster file declares.", q.expected_size)
        yield gauge("galera_primary_component_size", "Members in the Primary component.", q.size)
        yield gauge(
            "galera_members_missing",
            "Expected members not in the Primary component.",
            max(q.expected_size - q.size, 0),
        )
        yield gauge(
            "galera_split_brain",
            "1 when more than one Primary component can commit (disjoint views or "
            "different histories), seen on two reads.",
            1.0 if brain.detected else 0.0,
        )
        yield gauge(
            "galera_primary_components",
            "Number of Primary components that can commit (stale views left out).",
            len(brain.components),
        )
        stale = sum(len(v.reporters) for v in brain.stale)
        yield gauge(
            "galera_stale_view_members",
            "Members still reporting an older Primary view the others have left "
            "(e.g. resumed after a pause); never a split brain.",
            stale,
        )
        if stale:
            with self._lock:
                self._stale_reads += 1
        seen = CounterMetricFamily(
            "galera_stale_view_reads",
            "Reads of the cluster in which some member reported a stale view.",
            labels=keys,
        )
        seen.add_metric(values, self._stale_reads)
        yield seen
        cluster = GaugeMetricFamily(
            "galera_cluster_verdict", "1 for the current verdict.", labels=[*keys, "verdict"]
        )
        for v in health.Verdict:
            cluster.add_metric([*values, v.value], 1.0 if v is verdict.verdict else 0.0)
        yield cluster

        mk, _ = self._labels(member="")
        available = GaugeMetricFamily(
            "galera_member_available",
            "Clustercheck verdict of the member (1 available).",
            labels=[*mk, "reason"],
        )
        state = GaugeMetricFamily(
            "galera_member_local_state",
            "The member's wsrep_local_state, one-hot.",
            labels=[*mk, "state"],
        )
        fc_active = GaugeMetricFamily(
            "galera_flow_control_active", "1 while flow control pauses replication.", labels=mk
        )
        fc_paused = CounterMetricFamily(
            "galera_flow_control_paused_seconds",
            "Time replication was paused by flow control.",
            labels=mk,
        )
        ist = GaugeMetricFamily(
            "galera_ist_window_writesets",
            "Write sets this member's gcache can serve by IST.",
            labels=mk,
        )
        delayed = GaugeMetricFamily(
            "galera_evs_delayed_peers", "Peers on the EVS delayed list.", labels=mk
        )
        evicted = GaugeMetricFamily(
            "galera_evs_evicted_peers", "Peers on the EVS evict list.", labels=mk
        )
        conf = GaugeMetricFamily(
            "galera_view_conf_id",
            "Configuration (view) id; it rises at every view change.",
            labels=mk,
        )
        errors = CounterMetricFamily(
            "galera_exporter_member_errors",
            "Scrapes in which the member did not answer.",
            labels=mk,
        )
        verdicts = {v.name: v for v in verdict.members}
        for o in snapshot.data_members:
            _, lv = self._labels(member=o.name)
            available.add_metric(
                [*lv, verdicts[o.name].reason], 1.0 if verdicts[o.name].healthy else 0.0
            )
            with self._lock:
                errors.add_metric(lv, float(self._errors.get(o.name, 0)))
            s = o.status
            if s is None:
                continue
            for label in _STATES:
                state.add_metric([*lv, label], 1.0 if s.local_state.label == label else 0.0)
            fc_active.add_metric(lv, 1.0 if s.flow_control_active else 0.0)
            fc_paused.add_metric(lv, s.flow_control_paused_ns / 1e9)
            if 0 < s.cached_downto <= s.last_committed + 1:
                ist.add_metric(lv, float(s.last_committed - s.cached_downto + 1))
            delayed.add_metric(lv, float(len(s.evs_delayed)))
            evicted.add_metric(lv, float(len(s.evs_evict_list)))
            if s.conf_id is not None:
                conf.add_metric(lv, float(s.conf_id))
        yield from (available, state, fc_active, fc_paused, ist, delayed, evicted, conf, errors)
        if self.watcher is not None:
            counts = CounterMetricFamily(
                "galera_conflicts",
                "Logged certification conflicts per member and table.",
                labels=[*mk, "table"],
            )
            for (member, table), count in sorted(self.watcher.snapshot().items()):
                counts.add_metric([*self._labels(member=member)[1], table], float(count))
            yield counts
