"""What the platform reads from a cluster's Secrets: the SQL accounts and the agent token
(the cluster's Secret: ``client.cnf``, ``admin.cnf``, ``agent-token``) and, when the pods
mount a TLS Secret, its CA (``ca.crt``), which every SQL and agent connection verifies the
members with. From a mounted directory (the controller's pod) or through the API.
"""

from __future__ import annotations

import atexit
import base64
import functools
import shutil
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from galera.config.optionfile import parse_option_text, read_option_file
from galera.domain.credentials import Credentials
from galera.errors import InvalidInput
from galera.platforms.kube_api import Api, NotFound
from galera.render.manifests import TLS_KEYS, TLS_VOLUME

CLIENT = "client.cnf"  # the monitoring account: every read, the agents' status
ADMIN = "admin.cnf"  # optional: SET GLOBAL (bootstrap in place, conflict logging)
TOKEN = "agent-token"
CA = TLS_KEYS["ca"]


@dataclass(frozen=True)
class Secrets:
    """What one read of the Secrets gives the cluster's spec (no secret in ``repr``)."""

    credentials: Credentials | None = field(repr=False)
    admin: Credentials | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    ca: Path | None = None  # None: the pods serve no TLS


def _secret_volumes(sts: dict[str, Any]) -> tuple[str | None, str | None]:
    """The names of the cluster's Secret and of the TLS Secret the pod template mounts."""
    volumes = sts["spec"]["template"]["spec"].get("volumes") or []
    secrets = {v["name"]: v["secret"]["secretName"] for v in volumes if "secret" in v}
    tls = secrets.pop(TLS_VOLUME, None)
    return next(iter(secrets.values()), None), tls


def read(kube: Api, sts: dict[str, Any]) -> Secrets:
    """The accounts, token and CA of the cluster whose pods ``sts`` describes."""
    name, tls = _secret_volumes(sts)
    directory = kube.target.secrets_dir
    if directory is not None:
        return _from_directory(directory, sts["metadata"]["name"], tls)
    if name is None:
        raise InvalidInput(
            f"StatefulSet {sts['metadata']['name']} mounts no Secret; pass --secrets-dir"
        )
    data = _data(kube, name)
    if CLIENT not in data:
        raise InvalidInput(f"Secret {name} has no {CLIENT} (docs/kubernetes.md)")
    token = data[TOKEN].decode().strip() if TOKEN in data else None
    admin = _account(data[ADMIN], f"Secret {name} {ADMIN}") if ADMIN in data else None
    return Secrets(_account(data[CLIENT], f"Secret {name} {CLIENT}"), admin, token, _ca(kube, tls))


def _data(kube: Api, name: str) -> dict[str, bytes]:
    secret = kube._call(
        f"read Secret {name}", kube.core.read_namespaced_secret, name, kube.namespace
    )
    return {k: base64.b64decode(v) for k, v in (secret.data or {}).items()}


def _account(text: bytes, source: str) -> Credentials:
    return parse_option_text(text.decode(), source)


def _ca(kube: Api, tls: str | None) -> Path | None:
    if tls is None:
        return None
    try:
        data = _data(kube, tls)
    except NotFound:
        raise InvalidInput(
            f"Secret {tls}, the TLS Secret the pods mount, does not exist: cert-manager "
            "issues it (tls.certManager.issuer), or galeractl certs secret writes one"
        ) from None
    if CA not in data:
        raise InvalidInput(
            f"Secret {tls} has no {CA}: the members' CA (cert-manager writes it; "
            "galeractl certs secret makes such a Secret)"
        )
    _check_pem(data[CA], f"Secret {tls} {CA}")
    return _private_copy(data[CA])


def _from_directory(directory: Path, sts: str, tls: str | None) -> Secrets:
    token_path, admin_path, ca = directory / TOKEN, directory / ADMIN, directory / CA
    if tls is not None and not ca.is_file():
        raise InvalidInput(
            f"StatefulSet {sts} serves TLS (Secret {tls}) but {directory} has no {CA}: "
            f"mount the TLS Secret's {CA} there too (docs/kubernetes.md)"
        )
    client = directory / CLIENT  # absent: a job that talks to the agents only (a backup)
    return Secrets(
        read_option_file(client) if client.exists() else None,
        read_option_file(admin_path) if admin_path.exists() else None,
        token_path.read_text().strip() if token_path.exists() else None,
        ca if tls is not None else None,
    )


def _check_pem(pem: bytes, source: str) -> None:
    """A CA that loads (without ``cryptography``: ``galeractl status`` stays fast)."""
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=pem.decode())
    except (ssl.SSLError, UnicodeDecodeError, ValueError):
        raise InvalidInput(f"{source}: not a PEM certificate") from None


@functools.lru_cache(maxsize=8)
def _private_copy(pem: bytes) -> Path:
    """``pem`` in a file of a directory only this process's user can enter, removed at exit:
    galeractl verifies members with a CA file (reloaded when it changes), and a CA read
    from the API has none. One file per CA content, so a renewed CA is a new file."""
    directory = Path(tempfile.mkdtemp(prefix="galeractl-ca-"))  # mode 0700
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    path = directory / CA
    path.write_bytes(pem)
    return path
