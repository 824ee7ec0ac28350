"""The platform on a TLS cluster, against the API double: the CA from the TLS Secret the pods
mount, agents over HTTPS verified by the pod's name while its IP is dialled, the admin
account beside the monitoring one, and every missing piece named in one line."""

from __future__ import annotations

import base64
import http.server
import json
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from galera import tls
from galera.config import endpoints
from galera.errors import InvalidInput
from galera.platforms.kubernetes import Kubernetes, Target
from tests.kubernetes import apiserver
from tests.kubernetes.apiserver import NAMESPACE, PODS, SECRETS, STATEFULSETS, Emulator
from tests.kubernetes.test_platform import CLIENT_CNF, seed_cluster

ADMIN_CNF = "[client]\nuser = operator\npassword = adm1n-Pw\n"


@pytest.fixture
def api() -> Iterator[tuple[Emulator, str]]:
    with apiserver.serving() as (emu, url):
        yield emu, url


def kube(url: str, **kw: Any) -> Kubernetes:
    return Kubernetes(Target(cluster="galera", namespace=NAMESPACE, api_url=url, **kw))


def secret_files(emu: Emulator, name: str = "galera-tls") -> dict[str, bytes]:
    stored = emu.current(SECRETS, name)
    assert stored is not None
    return {k: base64.b64decode(v) for k, v in stored["data"].items()}


def pod_files(emu: Emulator, root: Path) -> tls.Files:
    """The TLS Secret's files as a pod has them."""
    data = secret_files(emu)
    paths = {key: root / key for key in data}
    for key, path in paths.items():
        tls.write(path, data[key], private=True)
    return tls.Files(paths["ca.crt"], paths["tls.crt"], paths["tls.key"])


def test_members_are_verified_with_the_ca_of_the_tls_secret_by_their_names(
    api: tuple[Emulator, str], tmp_path: Path
) -> None:
    emu, url = api
    seed_cluster(emu, {})
    spec = kube(url).spec()
    assert spec.tls_ca is not None and not spec.tls_off
    assert spec.tls_ca.read_bytes() == secret_files(emu)["ca.crt"]
    assert stat.S_IMODE(spec.tls_ca.parent.stat().st_mode) == 0o700
    data = [m for m in spec.members if not m.arbitrator]
    assert [m.tls_name for m in data] == [f"galera-{i}.galera-peers.db.svc" for i in range(3)]
    assert all(m.agent.startswith("https://127.0.0.") for m in data)
    # What each pod's agent checks at start: the mounted certificate names its address.
    tls.check(pod_files(emu, tmp_path), [m.tls_name for m in data])


class _Agent(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"api": "v1", "name": "galera-1"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


def test_an_agent_is_dialled_at_its_pod_ip_over_https(
    api: tuple[Emulator, str], tmp_path: Path
) -> None:
    """The agent of galera-1 serves the Secret's certificate at its pod's IP; galeractl
    reaches it by that IP and accepts it because it names galera-1's DNS name."""
    emu, url = api
    seed_cluster(emu, {})
    server = http.server.ThreadingHTTPServer(("127.0.0.11", 0), _Agent)
    context = tls.server_context(pod_files(emu, tmp_path))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    sts = emu.current(STATEFULSETS, "galera")
    assert sts is not None
    emu.seed(PODS, apiserver.pod_for(sts, 1, "127.0.0.11", {"agent": server.server_port}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        spec = kube(url).spec()
        member = spec.member("galera-1")
        assert member.agent == f"https://127.0.0.11:{server.server_port}"
        assert endpoints.agent(spec, member).status()["name"] == "galera-1"
    finally:
        server.shutdown()
        server.server_close()


def test_the_admin_account_comes_from_admin_cnf_and_the_monitoring_one_stays(
    api: tuple[Emulator, str],
) -> None:
    emu, url = api
    seed_cluster(emu, {})
    spec = kube(url).spec()
    assert spec.admin_credentials() == spec.credentials()  # no admin.cnf: one account
    files = {"client.cnf": CLIENT_CNF, "admin.cnf": ADMIN_CNF, "agent-token": "tok"}
    emu.seed(SECRETS, apiserver.secret("galera-secrets", files))
    spec = kube(url).spec()
    assert spec.credentials().user == "monitor"
    assert spec.admin_credentials().user == "operator"
    assert spec.admin_credentials().password == "adm1n-Pw"
    assert "adm1n-Pw" not in repr(spec)


def test_a_plaintext_cluster_is_reached_over_http_and_reported(api: tuple[Emulator, str]) -> None:
    emu, url = api
    seed_cluster(emu, {"tls": {"enabled": False}})
    spec = kube(url).spec()
    assert spec.tls_ca is None and spec.tls_off
    assert all(m.agent.startswith("http://") and not m.tls_name for m in spec.members if m.agent)
    read = [r.name for r in apiserver.requests(emu, "GET", SECRETS)]
    assert read == ["galera-secrets"]


@pytest.mark.parametrize(
    ("tls_secret", "message"),
    [
        (None, "Secret galera-tls, the TLS Secret the pods mount, does not exist: cert-manager"),
        ({"tls.crt": "x"}, "Secret galera-tls has no ca.crt: the members' CA"),
        ({"ca.crt": "garbage"}, "Secret galera-tls ca.crt: not a PEM certificate"),
    ],
)
def test_a_missing_or_bad_tls_secret_is_one_line(
    api: tuple[Emulator, str], tls_secret: dict[str, str] | None, message: str
) -> None:
    emu, url = api
    seed_cluster(emu, {})
    if tls_secret is None:
        emu.remove(SECRETS, "galera-tls")
    else:
        emu.seed(SECRETS, apiserver.secret("galera-tls", tls_secret))
    with pytest.raises(InvalidInput) as raised:
        kube(url).spec()
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_secrets_directory_without_the_ca_of_a_tls_cluster_is_named(
    api: tuple[Emulator, str], tmp_path: Path
) -> None:
    emu, url = api
    seed_cluster(emu, {})
    (tmp_path / "client.cnf").write_text(CLIENT_CNF)
    with pytest.raises(InvalidInput, match=r"serves TLS \(Secret galera-tls\) but .* no ca\.crt"):
        kube(url, secrets_dir=tmp_path).spec()
