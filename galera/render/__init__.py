"""Rendering of the Jinja templates under ``templates/``: a member's wsrep configuration here,
the Kubernetes manifests in :mod:`galera.render.manifests`."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import jinja2

from galera.domain import options
from galera.errors import InvalidInput

ENV_TEMPLATES = "GALERACTL_TEMPLATES"
WSREP_TEMPLATE = "wsrep.cnf.j2"


def templates_dir() -> Path:
    """Where the templates are: $GALERACTL_TEMPLATES, the installed package, or the checkout."""
    override = os.environ.get(ENV_TEMPLATES)
    if override:
        return Path(override)
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "templates", package.parent / "templates"):
        if (candidate / WSREP_TEMPLATE).is_file():
            return candidate
    raise InvalidInput(f"templates directory not found (set {ENV_TEMPLATES})")


def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


@dataclass(frozen=True)
class MemberConfig:
    """The values of one member's wsrep configuration (the inputs of ``wsrep.cnf.j2``)."""

    name: str
    cluster_name: str
    datadir: str
    socket: str
    pid_file: str
    log_error: str
    peers: tuple[str, ...]
    node_address: str
    port: int = 3306
    galera_port: int = 4567
    ist_port: int = 4568
    sst_port: int = 4444
    bind_address: str = "0.0.0.0"
    listen_address: str = "0.0.0.0"
    weight: int = 1
    gcache_size: str = "128M"
    sst_method: str = "mariabackup"
    provider: str = "/usr/lib/galera/libgalera_smm.so"
    user: str = ""
    secrets_file: str = ""
    innodb_buffer_pool_size: str = "128M"
    innodb_log_file_size: str = "96M"
    innodb_flush_log_at_trx_commit: int = 1
    applier_threads: int = 2
    secure_file_priv: str = ""  # the agent sets a directory of its own (see agent.mariadbd)
    # A directory of this member's own for temporary files: a starting mariadbd deletes
    # every "#sql*" file in its tmpdir, so members sharing /tmp break each other's work.
    tmpdir: str = ""
    # TLS on every path (clients, replication, IST, SST) with these files; "" = off.
    tls_ca: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    small: bool = False
    provider_options: dict[str, str] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # The values are checked where they enter (the agent's schema); this guard holds on
        # every path, the agent's option overrides included: nothing galeractl owns or
        # forbids, no secret in the rendered file, no newline in a value.
        options.check(self.extra, "extra.")
        options.check_provider(self.provider_options, "provider_options.")


def render_member_config(config: MemberConfig) -> str:
    """The text of the member's ``my.cnf`` from ``templates/wsrep.cnf.j2``."""
    values = asdict(config)
    values["extra"], values["provider_options"] = options.effective(
        config.extra, config.provider_options
    )
    return environment().get_template(WSREP_TEMPLATE).render(**values)
