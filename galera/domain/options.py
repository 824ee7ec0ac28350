"""The one guard on server options a person may add (agent configuration, ``upgrade --set``,
``/v1/config``, the Kubernetes values): what galeractl owns, what it forbids, and how
provider options merge. Pure.

Owned options are set by galeractl from the cluster's description; a different value would
break the safety model (a ``wsrep_cluster_address`` of ``gcomm://`` makes every later join
form a cluster of its own). Forbidden ones defeat it outright (``pc.ignore_sb`` lets two
sides of a partition both take writes) or run commands (``wsrep_notify_cmd``). Provider
options a person adds are merged into galeractl's, never replacing the whole string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from galera.errors import InvalidInput

_SERVER_NAME = re.compile(r"[A-Za-z0-9_-]+")
_PROVIDER_NAME = re.compile(r"[A-Za-z0-9_.]+")
_PREFIXES = ("skip_", "disable_", "enable_", "maximum_")

PROVIDER = "wsrep_provider_options"

OWNED = {
    "wsrep_on": "galeractl runs every member with Galera on",
    "wsrep_provider": "galeractl sets the Galera library",
    "wsrep_cluster_address": "galeractl sets it from the members (another value can form a "
    "second cluster)",
    "wsrep_cluster_name": "galeractl sets it from the cluster's name",
    "wsrep_node_name": "galeractl sets it from the member's name",
    "wsrep_node_address": "galeractl sets it from the member's address",
    "wsrep_node_incoming_address": "galeractl sets it from the member's address",
    "wsrep_sst_receive_address": "galeractl sets it from the member's address",
    "wsrep_sst_auth": "a secret: it belongs in the secrets file (sst.cnf)",
    "wsrep_new_cluster": "galeractl bootstraps only through the one-shot mark",
    "datadir": "galeractl sets the member's data directory",
    "socket": "galeractl sets the member's socket",
    "port": "galeractl sets it from the member's port",
    "pid_file": "galeractl sets the member's pid file",
    "log_error": "the agent reads the member's error log where galeractl puts it",
    "user": "galeractl sets the account mariadbd runs as",
    "secure_file_priv": "the agent confines SQL file access to a directory of its own",
    "tmpdir": "set it with the server's tmpdir setting (a directory of the member's own)",
    **dict.fromkeys(
        ("ssl_ca", "ssl_cert", "ssl_key", "require_secure_transport"),
        "galeractl sets TLS from the cluster's certificates",
    ),
}
FORBIDDEN = {
    "wsrep_notify_cmd": "it runs a command on every membership change",
    "wsrep_start_position": "galeractl passes it from the recovered position",
    "plugin_dir": "it would load code from another directory",
    "plugin_load": "it loads code into the server",
    "plugin_load_add": "it loads code into the server",
    "init_file": "it runs SQL as root at every start",
    "grant_tables": "skip-grant-tables turns every privilege check off",
}
OWNED_PROVIDER = {
    "pc.weight": "set the member's weight instead",
    "gmcast.listen_addr": "galeractl sets it from the member's address and port",
    "ist.recv_addr": "galeractl sets it from the member's address and IST port",
    "base_host": "galeractl sets it from the member's address",
    "base_port": "galeractl sets it from the member's Galera port",
}
OWNED_PROVIDER_PREFIXES = {"socket.ssl": "galeractl sets TLS from the cluster's certificates"}
# Galera's membership timers for members in one site (a LAN). Galera's defaults (PT1S each)
# are tuned for WAN links; in one site they make every member that enters the group stop
# the whole cluster's commits for 1.5-2.5 s: its join is retransmitted once a second until
# everybody agrees (evs.join_retrans_period), and after the new regular view the first
# retransmission round that completes the component's state exchange waits for the
# operational retransmission timer (evs.keepalive_period, which is also the keepalive
# beacon's period). Measured on this project's sandbox under a writer through HAProxy
# (docs/writer.md): the longest stall of a rolling restart fell from 1.5-2.5 s to 0.4-0.6 s.
# Both only pace messages (a few more small packets a second while idle, joins sent more
# often while a member enters); failure detection (evs.suspect_timeout,
# evs.inactive_timeout) is untouched. A member whose options name a segment
# (gmcast.segment: a cluster across sites) keeps Galera's defaults, and options a person
# sets always win.
LAN_TIMERS = {"evs.keepalive_period": "PT0.1S", "evs.join_retrans_period": "PT0.2S"}
SEGMENT = "gmcast.segment"
FORBIDDEN_PROVIDER = {
    "pc.ignore_sb": "both sides of a partition would take writes (split brain)",
    "pc.ignore_quorum": "a minority would keep taking writes",
    "pc.bootstrap": "galeractl bootstraps only through the one-shot mark",
}


def _canonical(name: str) -> str:
    """The option mariadbd reads for ``name``: case and ``-``/``_`` do not matter, any
    number of ``loose-`` prefixes and one ``skip-``/``disable-``/``enable-``/``maximum-``
    prefix name the option itself (``enable-wsrep-new-cluster`` is ``wsrep_new_cluster``)."""
    key = name.strip().lower().replace("-", "_")
    while key.startswith("loose_"):
        key = key.removeprefix("loose_")
    for prefix in _PREFIXES:
        if key.startswith(prefix):
            return key.removeprefix(prefix)
    return key


def _reason(key: str) -> str | None:
    """Why the canonical option ``key`` is refused: owned, forbidden, or a unique prefix
    of one of those (mariadbd takes ``wsrep-notify-cm`` for ``wsrep-notify-cmd``)."""
    for table in (FORBIDDEN, OWNED):
        if key in table:
            return table[key]
    for full, why in (*FORBIDDEN.items(), *OWNED.items()):
        if full.startswith(key):
            return f"{why} (mariadbd reads it as {full})"
    return None


def _check_value(where: str, name: str, value: str) -> None:
    if "\n" in value or "\r" in value or "\0" in value:
        raise InvalidInput(f"{where}{name}: a value may not contain a newline or NUL")


def parse_provider(text: str, where: str = "") -> dict[str, str]:
    """``a=1; b = 2`` as ``{"a": "1", "b": "2"}``; an entry without ``=`` is bad input."""
    out: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"{where}{PROVIDER}: {part.strip()!r} is not NAME=VALUE")
        out[key.strip()] = value.strip()
    return out


def check_provider(options: Mapping[str, str], where: str = "") -> None:
    """Refuse provider options galeractl owns or forbids, naming the option and why."""
    for name, value in options.items():
        key = name.strip().lower()
        _check_value(where, name, str(value))
        if not _PROVIDER_NAME.fullmatch(key):
            raise InvalidInput(
                f"{where}{name!r}: not a provider option name (letters, digits, _ .)"
            )
        if any(c in str(value) for c in ';"#\\'):
            raise InvalidInput(
                f'{where}{name}: a provider option value may not contain ; " # or \\'
            )
        reason = FORBIDDEN_PROVIDER.get(key) or OWNED_PROVIDER.get(key)
        reason = reason or next(
            (why for prefix, why in OWNED_PROVIDER_PREFIXES.items() if key.startswith(prefix)),
            None,
        )
        if reason:
            raise InvalidInput(f"{where}{name}: not allowed: {reason}")


def check(options: Mapping[str, str], where: str = "") -> None:
    """Refuse server options galeractl owns or forbids (and, inside
    ``wsrep_provider_options``, provider options it owns or forbids); ``where`` prefixes
    each message (e.g. ``"server.extra."``)."""
    for name, value in options.items():
        if not _SERVER_NAME.fullmatch(name.strip()):
            raise InvalidInput(f"{where}{name!r}: not an option name (letters, digits, _ -)")
        _check_value(where, name, str(value))
        key = _canonical(name)
        reason = _reason(key)
        if reason:
            raise InvalidInput(f"{where}{name}: not allowed: {reason}")
        if key == PROVIDER:
            check_provider(parse_provider(str(value), where), f"{where}{name}: ")


def effective(
    extra: Mapping[str, str], provider: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """The server options and provider options as rendered: a ``wsrep_provider_options``
    among the server options is merged into the provider options (its entries win over
    the same names), never replacing galeractl's own; under both, the one-site
    membership timers (:data:`LAN_TIMERS`) unless a segment is named."""
    server = {k: v for k, v in extra.items() if _canonical(k) != PROVIDER}
    merged = dict(provider)
    for k, v in extra.items():
        if _canonical(k) == PROVIDER:
            merged.update(parse_provider(str(v)))
    if not any(k.strip().lower() == SEGMENT for k in merged):
        merged = {**LAN_TIMERS, **merged}
    return server, merged


def merged(*layers: Mapping[str, str]) -> dict[str, str]:
    """Server options layered (later layers win), with every ``wsrep_provider_options``
    merged entry by entry instead of the last string replacing the others."""
    out: dict[str, str] = {}
    provider: dict[str, str] = {}
    for layer in layers:
        for name, value in layer.items():
            if _canonical(name) == PROVIDER:
                provider.update(parse_provider(str(value)))
            else:
                out[name] = value
    if provider:
        out[PROVIDER] = "; ".join(f"{k}={v}" for k, v in provider.items())
    return out


def accepted(persisted: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The options of ``persisted`` this guard accepts, and why each other one is not
    (options saved before the guard existed must not keep a member from starting)."""
    kept: dict[str, str] = {}
    refused: list[str] = []
    for name, value in persisted.items():
        try:
            check({name: value})
        except InvalidInput as e:
            refused.append(e.message)
            continue
        kept[name] = value
    return kept, refused
