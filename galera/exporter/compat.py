"""Value mapping and names exactly as ``mysqld_exporter`` publishes them (pure).

``mysqld_exporter`` turns ``ON``/``YES`` into 1, ``OFF``/``NO``/``DISABLED`` into 0,
``Primary`` into 1 and ``non-Primary``/``Disconnected`` into 0, parses numbers, and drops
everything else. Names are ``mysql_global_status_<variable>`` in lower case, untyped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, NamedTuple

from galera.domain.status import parse_size, provider_options

if TYPE_CHECKING:
    from galera.sql import Raw

_WORDS = {
    "yes": 1.0,
    "on": 1.0,
    "no": 0.0,
    "off": 0.0,
    "disabled": 0.0,
    "connecting": 0.0,
    "primary": 1.0,
    "non-primary": 0.0,
    "disconnected": 0.0,
}
_NAME_RE = re.compile(r"[^a-z0-9_]")


def value(text: str) -> float | None:
    """The number ``mysqld_exporter`` would publish for ``text``, or None (dropped)."""
    folded = text.strip().lower()
    if folded in _WORDS:
        return _WORDS[folded]
    try:
        number = float(folded)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def metric_name(prefix: str, variable: str) -> str:
    return prefix + _NAME_RE.sub("_", variable.lower())


def evs_repl_latency(text: str) -> dict[str, float]:
    """``wsrep_evs_repl_latency`` (``min/avg/max/stdev/samples``) as mysqld_exporter splits it."""
    parts = text.strip().split("/")
    if len(parts) != 5:
        return {}
    names = ("min_seconds", "avg_seconds", "max_seconds", "stdev", "sample_size")
    out = {}
    for name, part in zip(names, parts, strict=True):
        try:
            out[name] = float(part)
        except ValueError:
            return {}
    return out


class Sample(NamedTuple):
    """One sample of a mysqld_exporter-compatible series: its family, help, labels, value."""

    name: str
    doc: str
    labels: dict[str, str]
    value: float


def series(member: str, raw: Raw) -> Iterator[Sample]:
    """Every mysqld_exporter-compatible sample one member's raw read gives, in family order."""
    labels = {"member": member}
    yield from _generic("mysql_global_status_", _STATUS_DOC, labels, raw.status)
    yield from _generic("mysql_global_variables_", _VARIABLES_DOC, labels, raw.variables)
    yield from _galera(member, raw)


_STATUS_DOC = "Generic metric from SHOW GLOBAL STATUS."
_VARIABLES_DOC = "Generic gauge metric from SHOW GLOBAL VARIABLES."


def _generic(
    prefix: str, doc: str, labels: dict[str, str], rows: Mapping[str, str]
) -> Iterator[Sample]:
    """The numeric ``wsrep_*`` rows under ``prefix``, as mysqld_exporter names them."""
    for variable, text in sorted(rows.items()):
        number = value(text)
        if number is not None and variable.lower().startswith("wsrep_"):
            yield Sample(metric_name(prefix, variable), doc, labels, number)


def _galera(member: str, raw: Raw) -> Iterator[Sample]:
    """mysqld_exporter's Galera collector: info series, gcache size, replication latency."""
    status, variables = raw.status, raw.variables
    info = {
        "member": member,
        "wsrep_local_state_uuid": status.get("wsrep_local_state_uuid", ""),
        "wsrep_cluster_state_uuid": status.get("wsrep_cluster_state_uuid", ""),
        "wsrep_provider_version": status.get("wsrep_provider_version", ""),
    }
    yield Sample("mysql_galera_status_info", "PXC/Galera status information.", info, 1.0)
    yield Sample(
        "mysql_galera_variables_info",
        "PXC/Galera variables information.",
        {"member": member, "wsrep_cluster_name": variables.get("wsrep_cluster_name", "")},
        1.0,
    )
    labels = {"member": member}
    options = provider_options(variables.get("wsrep_provider_options", ""))
    if "gcache.size" in options:
        size = float(parse_size(options["gcache.size"]))
        yield Sample("mysql_galera_gcache_size_bytes", "PXC/Galera gcache size.", labels, size)
    latency = evs_repl_latency(status.get("wsrep_evs_repl_latency", ""))
    for suffix, number in latency.items():
        yield Sample(
            f"mysql_galera_evs_repl_latency_{suffix}",
            "PXC/Galera group communication latency.",
            labels,
            number,
        )
