"""Value mapping and names exactly as ``mysqld_exporter`` publishes them (pure).

``mysqld_exporter`` turns ``ON``/``YES`` into 1, ``OFF``/``NO``/``DISABLED`` into 0,
``Primary`` into 1 and ``non-Primary``/``Disconnected`` into 0, parses numbers, and drops
everything else. Names are ``mysql_global_status_<variable>`` in lower case, untyped.
"""

from __future__ import annotations

import math
import re

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
