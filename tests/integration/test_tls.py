"""TLS on a real cluster: certificates rotated under a writer with no restart, plaintext
clients refused, and a status that says when TLS is off."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import pytest

from galera import poll, sql, tls
from galera.config import certdir, endpoints
from galera.errors import AccessDenied
from galera.platforms import processes
from galera.platforms.sandbox import Sandbox
from tests.helpers import events, galeractl, of, one_line_error
from tests.integration.conftest import SandboxHandle

pytestmark = pytest.mark.cluster


def served_sql(handle: SandboxHandle, name: str) -> str:
    """The fingerprint of the certificate a member's SQL port presents."""
    spec = handle.spec
    conn = sql.connect(endpoints.of_member(spec, spec.member(name)), spec.credentials())
    try:
        return hashlib.sha256(conn._sock.getpeercert(binary_form=True)).hexdigest()
    finally:
        conn.close()


def served_replication(handle: SandboxHandle, name: str) -> str:
    """The fingerprint of the certificate a member's Galera port presents (mutual TLS: we
    connect as another member would)."""
    member = handle.sandbox.member(name)
    peer = certdir.files(handle.root / "tls", "galera-2" if name != "galera-2" else "galera-0")
    context = tls.client_context(peer)
    context.check_hostname = False  # Galera members verify the chain, not a name
    with (
        socket.create_connection((member.address, member.galera_port), timeout=5) as raw,
        context.wrap_socket(raw) as conn,
    ):
        return hashlib.sha256(conn.getpeercert(binary_form=True) or b"").hexdigest()


def test_rotation_under_a_writer_restarts_nothing_and_loses_nothing(
    sandbox3: SandboxHandle,
) -> None:
    names = ["galera-0", "galera-1", "galera-2"]
    pids = {n: sandbox3.sandbox.mariadbd_pid(n) for n in names}
    before = {n: (served_sql(sandbox3, n), served_replication(sandbox3, n)) for n in names}
    with sandbox3.writer() as writer:
        writer.wait_for_acks(100)
        result = galeractl("certs", "rotate", "-c", str(sandbox3.cluster_file), "-o", "json")
        assert result.code == 0, result.stderr
        writer.wait_for_acks(len(writer.stats.acked) + 100)
    check = sandbox3.check(writer.stats.acked)
    assert check.ok, check.message
    assert {n: sandbox3.sandbox.mariadbd_pid(n) for n in names} == pids
    issued = {e["member"]: e["fingerprint"] for e in of(events(result), "issued")}
    assert sorted(of(events(result), "reloaded"), key=lambda e: str(e["member"])) and set(
        issued
    ) == set(names)
    for n in names:
        now = (served_sql(sandbox3, n), served_replication(sandbox3, n))
        assert now[0] != before[n][0] and now[1] != before[n][1], n
        assert now[0].startswith(str(issued[n])) and now[1].startswith(str(issued[n]))
    assert galeractl("status", "-c", str(sandbox3.cluster_file)).code == 0


def test_a_plaintext_client_is_refused_with_a_hint(sandbox3: SandboxHandle) -> None:
    spec = sandbox3.spec
    m = spec.member("galera-0")
    with pytest.raises(AccessDenied) as raised:
        sql.connect(sql.Endpoint(m.host, m.port), spec.credentials(), "galera-0")
    assert "the server accepts only TLS" in str(raised.value)


def test_a_client_that_trusts_another_ca_is_told_so(
    sandbox3: SandboxHandle, tmp_path: Path
) -> None:
    certdir.create(tmp_path / "other", "other", {"x": ["127.0.0.1"]})
    text = sandbox3.cluster_file.read_text().replace(
        "ca: tls/ca.pem", f"ca: {tmp_path / 'other' / 'ca.pem'}"
    )
    other = sandbox3.cluster_file.with_name("other-ca.yaml")
    other.write_text(text)
    try:
        result = galeractl("status", "-c", str(other))
    finally:
        other.unlink()
    assert result.code == 1
    assert "certificate verify failed" in result.stdout


def test_a_cluster_file_without_tls_is_told_the_members_want_it(
    sandbox3: SandboxHandle,
) -> None:
    text = sandbox3.cluster_file.read_text().replace("ca: tls/ca.pem", "enabled: false")
    plain = sandbox3.cluster_file.with_name("plain.yaml")
    plain.write_text(text)
    try:
        result = galeractl("status", "-c", str(plain), "-o", "json")
    finally:
        plain.unlink()
    assert result.code == 2
    assert "or the members accept only TLS" in one_line_error(result)


def test_a_member_presenting_another_cas_certificate_is_refused_and_status_says_why(
    sandbox3: SandboxHandle, tmp_path: Path
) -> None:
    """Its peers refuse its replication connections (it never joins, so it can receive no
    SST), and status names the TLS failure rather than a bare 'unreachable'."""
    sandbox, name = sandbox3.sandbox, "galera-2"
    config = sandbox.member(name).home / "agent.yaml"
    original = config.read_text()
    certdir.create(tmp_path / "foreign", "foreign", {name: ["127.0.0.1", name]})
    processes.terminate(sandbox.state["agent_pids"][name], timeout=60)
    try:
        config.write_text(original.replace(str(sandbox3.root / "tls"), str(tmp_path / "foreign")))
        sandbox.launch_agent(name, "join")
        reason = poll.until(
            lambda: _reason_if_tls(sandbox3, name),
            timeout=60,
            interval=1.0,
            what=f"status naming {name}'s TLS failure",
        )
        assert "certificate" in reason, reason
        log = (sandbox.member(name).home / "mariadbd.err").read_text()
        assert "certificate verify failed" in log  # the peers would not have it either
    finally:
        processes.terminate(Sandbox.load(sandbox3.root).state["agent_pids"][name], timeout=60)
        config.write_text(original)
        Sandbox.load(sandbox3.root).launch_agent(name, "join")
        sandbox3.wait_synced(timeout=180)


def _reason_if_tls(handle: SandboxHandle, name: str) -> str | None:
    report = galeractl("status", "-c", str(handle.cluster_file), "-o", "json").json()
    [member] = [m for m in report["members"] if m["name"] == name]
    reason = str(member["reason"]) + str(member.get("agent"))
    return reason if "TLS with agent" in reason else None
