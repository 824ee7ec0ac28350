"""A cluster's certificate directory: the CA and one certificate per party.

    DIR/ca.pem               the CA bundle every party trusts (two CAs during a CA rotation)
    DIR/ca-key.pem           the current CA's key (0600): only ``galeractl certs`` reads it
    DIR/<party>.pem          a party's certificate (a member, garbd, or "client")
    DIR/<party>-key.pem      its key (0600)

Every write replaces a file atomically, so a party that reloads at any moment reads either
the old or the new file, never half of one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

from galera import tls
from galera.errors import InvalidInput, UnsafeOperation

CA = "ca.pem"
CA_KEY = "ca-key.pem"


def files(root: Path, party: str) -> tls.Files:
    """Where ``party``'s material is."""
    return tls.Files(root / CA, root / f"{party}.pem", root / f"{party}-key.pem")


def create(
    root: Path, cluster: str, parties: Mapping[str, Sequence[str]], days: int = tls.LEAF_DAYS
) -> None:
    """A new CA and a certificate for every party naming its ``parties[name]``. Refused
    when ``root`` already holds a CA: replacing it would cut every member off the others
    (``rotate`` is the way)."""
    if (root / CA).exists() or (root / CA_KEY).exists():
        raise UnsafeOperation(
            f"{root} already holds a CA; use 'galeractl certs rotate' to renew certificates"
        )
    ca = tls.new_ca(cluster)
    _issue(root, ca, parties, days)
    tls.write(root / CA_KEY, ca.key, private=True)
    tls.write(root / CA, ca.cert, private=False)  # last: a CA file means a complete set


def _issue(root: Path, ca: tls.Issued, parties: Mapping[str, Sequence[str]], days: int) -> None:
    for party, names in parties.items():
        leaf = tls.new_leaf(ca, party, list(names), days)
        where = files(root, party)
        assert where.cert is not None and where.key is not None
        tls.write(where.key, leaf.key, private=True)
        tls.write(where.cert, leaf.cert, private=False)


def kept_ca(root: Path, cluster: str) -> tuple[tls.Issued, bytes]:
    """The CA that signs in ``root`` and the bundle to trust; a new CA is written there
    (its key 0600) when ``root`` holds none, so that a renewal can keep it."""
    if not (root / CA).exists() and not (root / CA_KEY).exists():
        ca = tls.new_ca(cluster)
        tls.write(root / CA_KEY, ca.key, private=True)
        tls.write(root / CA, ca.cert, private=False)
    return current_ca(root), (root / CA).read_bytes()


def current_ca(root: Path) -> tls.Issued:
    """The CA that signs new certificates (its key must match the bundle's first CA)."""
    key = root / CA_KEY
    try:
        key_pem = key.read_bytes()
    except OSError as e:
        raise InvalidInput(f"CA key {key}: {e.strerror} (rotating needs the CA's key)") from None
    first = tls.certificates(root / CA, "CA")[0]
    tls.check(tls.Files(root / CA))
    return tls.Issued(tls.pem_of(first), key_pem)


def rotate(
    root: Path,
    cluster: str,
    parties: Mapping[str, Sequence[str]],
    new_ca: bool = False,
    days: int = tls.LEAF_DAYS,
) -> None:
    """New certificates for every party. With ``new_ca``, a new CA signs them and the
    bundle holds the new CA and the old one, so parties on either keep trusting each other
    until ``retire_old_cas``."""
    ca = current_ca(root)
    if new_ca:
        ca = tls.new_ca(cluster)
        bundle = ca.cert + (root / CA).read_bytes()
        tls.write(root / CA, bundle, private=False)  # trusted everywhere before it signs
        tls.write(root / CA_KEY, ca.key, private=True)
    _issue(root, ca, parties, days)


def retire_old_cas(root: Path) -> int:
    """Keep only the current CA in the bundle; how many were dropped."""
    certs = tls.certificates(root / CA, "CA")
    if len(certs) > 1:
        tls.write(root / CA, tls.pem_of(certs[0]), private=False)
    return len(certs) - 1


def expiries(root: Path, parties: Sequence[str]) -> dict[str, dt.datetime]:
    """When each party's certificate (and the CA, as "ca") expires."""
    result = {"ca": tls.not_after(root / CA)}
    for party in parties:
        cert = files(root, party).cert
        assert cert is not None
        result[party] = tls.not_after(cert)
    return result
