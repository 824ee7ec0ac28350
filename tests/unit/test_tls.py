"""Certificates: what galeractl issues, and every bad one named in one line."""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import os
import re
import socket
import ssl
from pathlib import Path

import pytest

from galera import tls
from galera.config import agent as agent_config
from galera.config import certdir, clusterfile, endpoints
from galera.errors import InvalidInput, UnsafeOperation

PARTIES = {"galera-0": ["10.0.0.1", "galera-0"], "galera-1": ["10.0.0.2", "galera-1"]}


@pytest.fixture
def issued(tmp_path: Path) -> Path:
    root = tmp_path / "tls"
    certdir.create(root, "prod", PARTIES)
    return root


def test_a_created_set_checks_out_and_keys_are_private(issued: Path) -> None:
    for party, names in PARTIES.items():
        files = certdir.files(issued, party)
        tls.check(files, names)
        assert files.key is not None and (files.key.stat().st_mode & 0o777) == 0o600
    assert ((issued / certdir.CA_KEY).stat().st_mode & 0o777) == 0o600


def test_the_contexts_verify_a_member_by_its_name(issued: Path) -> None:
    server = tls.server_context(certdir.files(issued, "galera-0"))
    client = tls.client_context(tls.Files(issued / certdir.CA))
    assert client.check_hostname and client.verify_mode is ssl.CERT_REQUIRED
    assert server.verify_mode is ssl.CERT_NONE  # the agent's clients carry a token instead


def test_create_refuses_over_an_existing_ca(issued: Path) -> None:
    with pytest.raises(UnsafeOperation, match="already holds a CA"):
        certdir.create(issued, "prod", PARTIES)


def test_an_expired_certificate_is_named_with_its_date(issued: Path) -> None:
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=400)
    with pytest.raises(InvalidInput) as raised:
        tls.check(certdir.files(issued, "galera-0"), ["10.0.0.1"], now=later)
    assert "galera-0.pem expired on" in str(raised.value)


def test_a_certificate_not_yet_valid_says_check_the_clock(issued: Path) -> None:
    earlier = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
    with pytest.raises(
        InvalidInput, match=r"ca.pem is not valid before .* \(check this host's clock\)"
    ):
        tls.check(certdir.files(issued, "galera-0"), ["10.0.0.1"], now=earlier)


def test_a_missing_name_is_named(issued: Path) -> None:
    with pytest.raises(InvalidInput, match=r"does not name 10.0.0.9 \(it names galera-0, 10"):
        tls.check(certdir.files(issued, "galera-0"), ["10.0.0.9"])


def test_a_key_readable_by_others_is_refused(issued: Path) -> None:
    files = certdir.files(issued, "galera-0")
    assert files.key is not None
    os.chmod(files.key, 0o644)
    with pytest.raises(InvalidInput, match=r"readable by others \(mode 0644\): chmod 600"):
        tls.check(files)


def test_a_key_readable_by_our_own_group_only_is_accepted(issued: Path) -> None:
    """What a Kubernetes Secret volume gives the pod: root:<fsGroup> 0440."""
    files = certdir.files(issued, "galera-0")
    assert files.key is not None
    os.chmod(files.key, 0o440)
    os.chown(files.key, -1, os.getegid())
    tls.check(files)
    stranger = max({os.getegid(), *os.getgroups()}) + 4242
    try:
        os.chown(files.key, -1, stranger)
    except PermissionError:
        pytest.skip("changing a file's group needs root")
    with pytest.raises(InvalidInput, match=rf"readable by group {stranger}, which this process"):
        tls.check(files)


def handshake(server: ssl.SSLContext, client: ssl.SSLContext, dialled: str) -> None:
    """One TLS handshake over a socket pair; the client's error, if any, is raised."""
    ours, theirs = socket.socketpair()
    with ours, theirs, concurrent.futures.ThreadPoolExecutor(1) as pool:
        served = pool.submit(lambda: server.wrap_socket(theirs, server_side=True).close())
        try:
            client.wrap_socket(ours, server_hostname=dialled).close()
        finally:
            ours.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                served.result(5)


def test_a_member_dialled_by_address_is_verified_by_its_name(tmp_path: Path) -> None:
    """Kubernetes: galeractl dials a pod's IP (or a port-forward's 127.0.0.1) and checks
    the pod's DNS name, which the wildcard certificate of the StatefulSet carries."""
    ca = tls.new_ca("prod")
    names = ["*.galera-peers.db.svc", "*.galera-peers"]
    leaf = tls.new_leaf(ca, "galera", names)
    for name, data in (("ca.pem", ca.cert), ("cert.pem", leaf.cert), ("key.pem", leaf.key)):
        tls.write(tmp_path / name, data, private=name == "key.pem")
    server = tls.server_context(
        tls.Files(tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem")
    )
    ca_only = tls.Files(tmp_path / "ca.pem")
    member = clusterfile.MemberSpec(
        "galera-0",
        "127.0.0.1",
        agent="https://127.0.0.1:8008",
        tls_name="galera-0.galera-peers.db.svc",
    )
    spec = clusterfile.ClusterSpec(Path("k"), "galera", (member,), tls_ca=ca_only.ca)
    for context in (endpoints.of_member(spec, member).tls, endpoints.agent(spec, member).tls):
        assert context is not None
        handshake(server, context, "127.0.0.1")
    with pytest.raises(ssl.SSLCertVerificationError, match=re.escape("127.0.0.1")):
        handshake(server, tls.client_context(ca_only), "127.0.0.1")
    # covers() judges names as OpenSSL does, one-label wildcards included.
    for name in ("galera-0.galera-peers.elsewhere.svc", "galera-0.galera-peers"):
        assert not tls.covers(names, name)
        with pytest.raises(ssl.SSLCertVerificationError, match=re.escape(name)):
            handshake(server, tls.client_context(ca_only, name), "127.0.0.1")


def test_a_key_of_another_certificate_is_refused(issued: Path) -> None:
    files = certdir.files(issued, "galera-0")
    other = certdir.files(issued, "galera-1")
    with pytest.raises(InvalidInput, match="does not belong to certificate"):
        tls.check(tls.Files(files.ca, files.cert, other.key))


def test_a_certificate_of_another_ca_is_refused(issued: Path, tmp_path: Path) -> None:
    foreign = tmp_path / "foreign"
    certdir.create(foreign, "other", PARTIES)
    theirs = certdir.files(foreign, "galera-0")
    with pytest.raises(InvalidInput, match="was not signed by the CA in"):
        tls.check(tls.Files(issued / certdir.CA, theirs.cert, theirs.key))


@pytest.mark.parametrize(
    ("content", "expected"),
    [(None, "No such file"), (b"not a certificate", "no PEM certificate in it")],
)
def test_a_missing_or_garbage_ca_is_named(
    tmp_path: Path, content: bytes | None, expected: str
) -> None:
    path = tmp_path / "ca.pem"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InvalidInput, match=expected) as raised:
        tls.check(tls.Files(path))
    assert str(path) in str(raised.value)


def test_a_rotation_with_a_new_ca_trusts_both_until_the_old_is_retired(issued: Path) -> None:
    old = tls.fingerprint(issued / certdir.CA)
    certdir.rotate(issued, "prod", PARTIES, new_ca=True)
    assert len(tls.certificates(issued / certdir.CA)) == 2
    assert tls.fingerprint(issued / certdir.CA) != old  # the new CA signs from now on
    tls.check(certdir.files(issued, "galera-1"), ["10.0.0.2"])
    assert certdir.retire_old_cas(issued) == 1
    tls.check(certdir.files(issued, "galera-1"), ["10.0.0.2"])


def test_wildcards_cover_one_label_only() -> None:
    names = ["*.db-peers.prod.svc.cluster.local", "*.db-peers"]
    assert tls.covers(names, "db-0.db-peers.prod.svc.cluster.local")
    assert not tls.covers(names, "x.db-0.db-peers.prod.svc.cluster.local")
    assert not tls.covers(names, "db-peers.prod.svc.cluster.local")
    assert not tls.covers(names, "db-0.db-peers")  # OpenSSL: two labels after the star


def test_the_cluster_file_names_its_ca_or_turns_tls_off(tmp_path: Path) -> None:
    base = "credentials: {file: c.cnf}\nmembers: [{name: a, host: 10.0.0.1}]\n"
    spec = clusterfile.parse(base + "tls: {ca: tls/ca.pem}\n", tmp_path / "cluster.yaml")
    assert spec.tls_ca == tmp_path / "tls" / "ca.pem" and not spec.tls_off
    spec = clusterfile.parse(base + "tls: {enabled: false}\n", tmp_path / "cluster.yaml")
    assert spec.tls_ca is None and spec.tls_off
    with pytest.raises(InvalidInput, match="tls"):
        clusterfile.parse(base + "tls: {}\n", tmp_path / "cluster.yaml")


def test_an_agent_with_a_bad_certificate_does_not_start(issued: Path) -> None:
    """Its configuration is refused in one line naming the file (before anything starts)."""
    files = certdir.files(issued, "galera-0")
    data = {
        "name": "galera-0",
        "listen": "10.0.0.1:8008",
        "tls": {"ca": str(files.ca), "cert": str(files.cert), "key": str(files.key)},
        "server": {
            "cluster_name": "prod",
            "datadir": "/var/lib/mysql",
            "socket": "/run/mysqld.sock",
            "pid_file": "/run/mysqld.pid",
            "log_error": "/var/lib/mysql/err",
            "peers": ["10.0.0.1"],
            "node_address": "10.0.0.9",  # not in its certificate
        },
    }
    with pytest.raises(InvalidInput) as raised:
        agent_config.parse(data, issued / "agent.yaml")
    assert "tls: certificate" in str(raised.value) and "does not name 10.0.0.9" in str(raised.value)


@pytest.mark.parametrize(
    ("section", "said"),
    [
        ("tls: {enabled: false}\n", "tls: enabled: false"),
        ("", "no tls: ca"),
        ("tls: {ca: c}\n", None),
    ],
)
def test_status_warns_whenever_tls_is_off(tmp_path: Path, section: str, said: str | None) -> None:
    from galera.cli.status import _warnings

    base = "credentials: {file: c.cnf}\nmembers: [{name: a, host: 10.0.0.1}]\n"
    warnings = _warnings(clusterfile.parse(base + section, tmp_path / "cluster.yaml"))
    if said is None:
        assert warnings == []
    else:
        assert len(warnings) == 1 and f"TLS is off ({said} in" in warnings[0]


def test_the_agent_checks_its_files_without_keeping_cryptography_loaded(issued: Path) -> None:
    """cryptography is about 13 MB of a 35 MB agent: the agent's checks run apart."""
    import subprocess
    import sys

    files = certdir.files(issued, "galera-0")
    code = (
        "import sys; from pathlib import Path; from galera import tls; "
        f"f = tls.Files(Path({str(files.ca)!r}), Path({str(files.cert)!r}), "
        f"Path({str(files.key)!r})); tls.check_apart(f, ['10.0.0.1']); tls.fingerprint(f.cert); "
        "print('cryptography' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
    with pytest.raises(InvalidInput, match=r"does not name 10\.0\.0\.9"):
        tls.check_apart(files, ["10.0.0.9"])
