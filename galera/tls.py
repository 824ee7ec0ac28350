"""Certificates for every path: the cluster's CA, member certificates, their checks, and the
TLS contexts galeractl and the agents use.

One CA per cluster signs every member's certificate. Galera replication and IST verify the
peer's certificate against it (a pod without one cannot join, so cannot receive an SST), SST
runs through socat with the same files, clients verify the server's name, and the agents
serve their API over HTTPS with them. Keys are EC P-256 (fast handshakes: every agent call
is one connection) and written 0600. During a rotation the CA file holds the old and the
new CA, so members on either keep trusting each other.

``cryptography`` is imported only to issue or check certificates; building a context needs
only the standard library (``galeractl status`` stays fast).
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import ssl
import stat
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from galera.errors import InvalidInput

if TYPE_CHECKING:
    from cryptography import x509

CA_DAYS = 3650
LEAF_DAYS = 397  # what browsers accept; rotation is one command, so short is cheap
EXPIRY_WARNING_DAYS = 14


@dataclass(frozen=True)
class Issued:
    """One certificate and its private key, both PEM."""

    cert: bytes
    key: bytes


@dataclass(frozen=True)
class Files:
    """Where one party's TLS material is: the CA bundle, and its own certificate and key
    (a pure client such as galeractl has only the CA)."""

    ca: Path
    cert: Path | None = None
    key: Path | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _new_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def new_ca(cluster: str, days: int = CA_DAYS, now: dt.datetime | None = None) -> Issued:
    """A self-signed CA for ``cluster``'s members."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = _new_key()
    start = (now or _now()) - dt.timedelta(minutes=5)  # clocks a little behind still accept it
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "galeractl"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{cluster} CA {start:%Y%m%d%H%M%S}"),
        ]
    )
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(_cert_pem(cert), _key_pem(key))


def _cert_pem(cert: x509.Certificate) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM)


pem_of = _cert_pem


_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


def fingerprint(path: Path) -> str:
    """The SHA-256 fingerprint of the first certificate in ``path`` (hex); the standard
    library's, so that the agent never loads ``cryptography`` for it."""
    import hashlib

    match = _PEM.search(_read(path, "certificate"))
    if match is None:
        raise InvalidInput(f"certificate {path}: no PEM certificate in it")
    der = ssl.PEM_cert_to_DER_cert(match.group(0).decode("ascii"))
    return hashlib.sha256(der).hexdigest()


def check_apart(files: Files, names: Sequence[str] = ()) -> None:
    """:func:`check` in a short-lived process of its own: the agent checks its files at
    start and on every change, and ``cryptography`` would stay in its memory for good
    (about 13 MB of a 35 MB agent)."""
    import subprocess

    args = [str(files.ca), str(files.cert or ""), str(files.key or ""), *names]
    done = subprocess.run(
        [sys.executable, "-m", "galera.tls", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise InvalidInput(lines[-1] if lines else f"certificate check failed ({done.returncode})")


def _alt_names(names: list[str]) -> list[Any]:
    import ipaddress

    from cryptography import x509

    result: list[Any] = []
    for name in dict.fromkeys(names):
        try:
            result.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            result.append(x509.DNSName(name))
    return result


def new_leaf(
    ca: Issued,
    subject: str,
    names: list[str],
    days: int = LEAF_DAYS,
    now: dt.datetime | None = None,
) -> Issued:
    """A certificate for one member (or for every pod of a StatefulSet, with a wildcard),
    valid for server and client use: Galera's members are both to each other."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    if not names:
        raise InvalidInput(f"a certificate for {subject} needs at least one name")
    ca_cert = x509.load_pem_x509_certificate(ca.cert)
    ca_key: Any = serialization.load_pem_private_key(ca.key, None)
    key = _new_key()
    start = (now or _now()) - dt.timedelta(minutes=5)
    end = min(start + dt.timedelta(days=days), ca_cert.not_valid_after_utc)
    usage = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject[:64])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(_alt_names(names)), critical=False)
        .add_extension(x509.ExtendedKeyUsage(usage), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return Issued(_cert_pem(cert), _key_pem(key))


def write(path: Path, data: bytes, private: bool) -> None:
    """Replace ``path`` atomically; a private key is 0600 from the moment it exists."""
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600 if private else 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise InvalidInput(f"{what} {path}: {e.strerror}") from None


def certificates(path: Path, what: str = "certificate") -> list[x509.Certificate]:
    """Every certificate in a PEM file (a CA bundle holds two during a rotation)."""
    from cryptography import x509

    data = _read(path, what)
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        certs = []
    if not certs:
        raise InvalidInput(f"{what} {path}: no PEM certificate in it")
    return certs


def not_after(path: Path) -> dt.datetime:
    """When the first certificate in ``path`` expires."""
    return certificates(path)[0].not_valid_after_utc


def _check_dates(cert: x509.Certificate, path: Path, now: dt.datetime) -> None:
    if now > cert.not_valid_after_utc:
        raise InvalidInput(
            f"certificate {path} expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC "
            "(renew it: galeractl certs rotate)"
        )
    if now < cert.not_valid_before_utc:
        raise InvalidInput(
            f"certificate {path} is not valid before "
            f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC (check this host's clock)"
        )


def _names(cert: x509.Certificate) -> list[str]:
    from cryptography import x509

    try:
        alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(n) for n in alt.get_values_for_type(x509.DNSName)] + [
        str(n) for n in alt.get_values_for_type(x509.IPAddress)
    ]


def covers(cert_names: list[str], name: str) -> bool:
    """Whether a certificate naming ``cert_names`` is valid for ``name``, as OpenSSL (every
    client galeractl and MariaDB use) matches it: a wildcard stands for one label, and only
    with at least two labels after it (``*.galera-peers`` names nothing)."""
    for pattern in cert_names:
        if pattern == name:
            return True
        suffix = pattern[2:]
        if pattern.startswith("*.") and "." in suffix and name.partition(".")[2] == suffix:
            return True
    return False


def check(files: Files, names: Sequence[str] = (), now: dt.datetime | None = None) -> None:
    """Check one party's material before anything uses it; one line names what is wrong:
    a missing or unreadable file, a key readable by others or not matching the
    certificate, a date, a CA that did not sign it, a name it does not carry."""
    now = now or _now()
    cas = certificates(files.ca, "CA")
    for ca in cas:
        _check_dates(ca, files.ca, now)
    if files.cert is None or files.key is None:
        return
    cert = certificates(files.cert)[0]
    _check_dates(cert, files.cert, now)
    _check_key(files.key, cert, files.cert)
    if not any(_signed_by(cert, ca) for ca in cas):
        raise InvalidInput(f"certificate {files.cert} was not signed by the CA in {files.ca}")
    carried = _names(cert)
    for name in names:
        if not covers(carried, name):
            raise InvalidInput(
                f"certificate {files.cert} does not name {name} "
                f"(it names {', '.join(carried) or 'nothing'})"
            )


def _signed_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except Exception:  # InvalidSignature, or a key type that cannot have signed it
        return False
    return True


def _check_mode(path: Path, mode: int, gid: int) -> None:
    """Nobody but the owner may read a key, except a group this process is in: a Kubernetes
    Secret volume is root:<fsGroup> 0440 whatever its defaultMode says (the kubelet adds
    the group's read bit, kubernetes/kubernetes#57923), and that group is the pod's own."""
    shown = f"mode {stat.S_IMODE(mode):04o}"
    if mode & (stat.S_IRWXO | stat.S_IWGRP | stat.S_IXGRP):
        raise InvalidInput(f"key {path} is readable by others ({shown}): chmod 600 it")
    if mode & stat.S_IRGRP and gid not in {os.getegid(), *os.getgroups()}:
        raise InvalidInput(
            f"key {path} is readable by group {gid}, which this process is not in "
            f"({shown}): chmod 600 it"
        )


def _check_key(path: Path, cert: x509.Certificate, cert_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    try:
        st = path.stat()
    except OSError as e:
        raise InvalidInput(f"key {path}: {e.strerror}") from None
    _check_mode(path, st.st_mode, st.st_gid)
    try:
        key: Any = serialization.load_pem_private_key(_read(path, "key"), None)
    except (ValueError, TypeError):
        raise InvalidInput(f"key {path}: not an unencrypted PEM private key") from None
    if key.public_key().public_numbers() != cert.public_key().public_numbers():  # type: ignore[union-attr]
        raise InvalidInput(f"key {path} does not belong to certificate {cert_path}")


def stamp(files: Files) -> tuple[tuple[int, int], ...]:
    """Changes whenever any of the files is replaced or rewritten."""
    return _stamp(files.ca, files.cert, files.key)


def _stamp(*paths: Path | None) -> tuple[tuple[int, int], ...]:
    result = []
    for p in paths:
        if p is None:
            continue
        try:
            st = p.stat()
        except OSError:
            result.append((0, 0))
            continue
        result.append((st.st_ino, st.st_mtime_ns))
    return tuple(result)


class _Named(ssl.SSLContext):
    """Verifies the server's certificate for ``expected`` whatever address is dialled: the
    SQL client (pymysql) and urllib both pass the host they connect to as the name."""

    expected = ""

    def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        kwargs["server_hostname"] = self.expected
        return super().wrap_socket(sock, *args, **kwargs)


def client_context(files: Files, name: str | None = None) -> ssl.SSLContext:
    """A context that verifies the server's certificate against the cluster's CA and its
    name (never opportunistic): the host connected to, or ``name`` when the address dialled
    cannot be in a certificate (a pod's IP, a port-forward's 127.0.0.1). Rebuilt when the
    files change (a rotation). Members are read in parallel: one thread builds it."""
    with _BUILDING:
        return _client_context(files, name, _stamp(files.ca, files.cert))


_BUILDING = threading.Lock()


@functools.lru_cache(maxsize=64)  # one per member with a name of its own
def _client_context(
    files: Files, name: str | None, _stamp: tuple[tuple[int, int], ...]
) -> ssl.SSLContext:
    if name is None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    else:
        context = _Named(ssl.PROTOCOL_TLS_CLIENT)
        context.expected = name
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_verify_locations(cafile=str(files.ca))
    except OSError as e:
        raise InvalidInput(f"CA {files.ca}: {e.strerror or e}") from None
    except ssl.SSLError as e:
        raise InvalidInput(f"CA {files.ca}: not a PEM certificate bundle ({e.reason})") from None
    if files.cert is not None and files.key is not None:
        try:
            context.load_cert_chain(str(files.cert), str(files.key))
        except (OSError, ssl.SSLError) as e:
            raise InvalidInput(f"TLS files {files.cert}, {files.key}: {e}") from None
    return context


def server_context(files: Files) -> ssl.SSLContext:
    """A server context with the party's certificate (the agents' HTTPS); rebuilt when the
    files change, so a rotated certificate is served from the next connection on."""
    if files.cert is None or files.key is None:
        raise InvalidInput("a TLS server needs a certificate and a key")
    return _server_context(files, _stamp(files.ca, files.cert, files.key))


@functools.lru_cache(maxsize=4)
def _server_context(files: Files, _stamp: tuple[tuple[int, int], ...]) -> ssl.SSLContext:
    assert files.cert is not None and files.key is not None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(files.cert), str(files.key))
        context.load_verify_locations(cafile=str(files.ca))
    except (OSError, ssl.SSLError) as e:
        raise InvalidInput(f"TLS files {files.cert}: {e}") from None
    return context


def _main(argv: list[str]) -> int:
    """``python -m galera.tls CA CERT KEY [NAME...]``: :func:`check`, one line on failure."""
    ca, cert, key, *names = argv
    try:
        check(Files(Path(ca), Path(cert) if cert else None, Path(key) if key else None), names)
    except InvalidInput as e:
        print(e.message, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
