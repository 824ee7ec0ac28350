"""The SQL port: read one member's wsrep status over the MariaDB protocol (pymysql)."""

from __future__ import annotations

import re
import socket
import ssl
import sys
from dataclasses import dataclass, field
from typing import Any

from galera.domain import status as member_status
from galera.domain.credentials import Credentials
from galera.errors import AccessDenied, GaleraError, MemberUnreachable, OperationFailed


def _import_pymysql() -> Any:
    """pymysql, without the ``cryptography`` import it makes when it can (~27 ms, a quarter
    of a ``galeractl status``). It uses it only for MySQL's RSA password exchange
    (``sha256_password``, ``caching_sha2_password``), which MariaDB accounts do not use; over
    TLS it would not be needed anyway. When cryptography is already loaded, it is used."""
    if "cryptography" in sys.modules:
        import pymysql

        return pymysql
    sys.modules["cryptography"] = None  # type: ignore[assignment]  # "import" raises ImportError
    try:
        import pymysql

        return pymysql
    finally:
        if sys.modules.get("cryptography", 0) is None:
            del sys.modules["cryptography"]


pymysql = _import_pymysql()
CLIENT = pymysql.constants.CLIENT

# Every wsrep variable (the exporter publishes the numeric ones, as mysqld_exporter does),
# plus the two server variables the health verdicts use.
_STATUS_SQL = (
    "SHOW GLOBAL STATUS WHERE Variable_name LIKE 'wsrep%' OR Variable_name = 'Threads_connected'; "
    "SHOW GLOBAL VARIABLES WHERE Variable_name LIKE 'wsrep%' "
    "OR Variable_name IN ('read_only', 'version')"
)


# "Connections using insecure transport are prohibited while --require_secure_transport=ON"
_INSECURE_TRANSPORT = (3159, 4174)


@dataclass(frozen=True)
class Endpoint:
    """Where one member's SQL server listens: TCP host/port, or a local unix socket."""

    host: str = "127.0.0.1"
    port: int = 3306
    unix_socket: str | None = None
    connect_timeout: float = 2.0
    read_timeout: float = 5.0
    # The client context that verifies the server against the cluster's CA and this
    # endpoint's host name, or ``tls_name`` when given; None: plaintext (TLS off, or the
    # local unix socket).
    tls: ssl.SSLContext | None = field(default=None, compare=False, repr=False)
    tls_name: str = ""

    def describe(self) -> str:
        return self.unix_socket or f"{self.host}:{self.port}"


def _tls_failure(error: Exception) -> str | None:
    """Why a TLS handshake failed, when that is what ``error`` is (pymysql wraps it)."""
    if isinstance(error, ssl.SSLError):
        return str(getattr(error, "verify_message", None) or error.reason or error)
    text = str(error.args[1]) if len(error.args) > 1 else ""
    match = re.search(r"\[SSL: [A-Z_]+\] ([^(]+)", text)
    return match.group(1).strip() if match else None


def _translate(error: Exception, endpoint: Endpoint, member: str | None) -> GaleraError:
    reason = _tls_failure(error)
    if reason is not None:
        return MemberUnreachable(
            f"TLS with SQL at {endpoint.describe()} failed: {reason}",
            member=member,
            hint="the member must present a certificate of the cluster's CA naming "
            f"{endpoint.tls_name or endpoint.host}",
        )
    code = error.args[0] if error.args and isinstance(error.args[0], int) else 0
    if code in _INSECURE_TRANSPORT:
        return AccessDenied(
            f"{endpoint.describe()} accepts only TLS connections",
            member=member,
            hint="give the cluster's CA in the cluster file (tls: {ca: FILE})",
        )
    if code in (1045, 1044, 1698):
        hint = "wrong user or password in the credentials"
        if endpoint.tls is None and not endpoint.unix_socket:
            # MariaDB answers a plaintext client of a TLS-only server the same way.
            hint += ", or the server accepts only TLS (give its CA: tls: {ca: FILE})"
        return AccessDenied(f"access denied at {endpoint.describe()}", member=member, hint=hint)
    if code == 1227:  # "you need (at least one of) the SUPER privilege(s) for this operation"
        text = str(error.args[1]) if len(error.args) > 1 else str(error)
        return AccessDenied(
            f"the account lacks a privilege at {endpoint.describe()}: {text} (SQL error 1227)",
            member=member,
            hint="docs/cluster-file.md lists the exact GRANTs each command needs",
        )
    if code in (2002, 2003, 2006, 2013) or isinstance(error, (OSError, socket.timeout)):
        return MemberUnreachable(f"cannot reach SQL at {endpoint.describe()}", member=member)
    text = str(error.args[1]) if len(error.args) > 1 else str(error)
    return OperationFailed(f"SQL error {code} at {endpoint.describe()}: {text}", member=member)


def connect(endpoint: Endpoint, credentials: Credentials, member: str | None = None) -> Any:
    """Open a connection with bounded timeouts; failures become :class:`GaleraError`."""
    kwargs: dict[str, Any] = {
        "user": credentials.user,
        "password": credentials.password,
        "connect_timeout": endpoint.connect_timeout,
        "read_timeout": endpoint.read_timeout,
        "write_timeout": endpoint.read_timeout,
        "client_flag": CLIENT.MULTI_STATEMENTS,
        "autocommit": True,
        "charset": "utf8mb4",
    }
    if endpoint.unix_socket:
        kwargs["unix_socket"] = endpoint.unix_socket
    else:
        kwargs["host"] = endpoint.host
        kwargs["port"] = endpoint.port
    if endpoint.tls is not None and not endpoint.unix_socket:
        kwargs["ssl"] = endpoint.tls
    else:
        # Never opportunistic TLS (pymysql would otherwise offer it without verifying
        # anything, building a context of every system CA per connection, ~20 ms).
        kwargs["ssl_disabled"] = True
    try:
        return pymysql.connect(**kwargs)
    except (pymysql.err.MySQLError, OSError) as e:
        raise _translate(e, endpoint, member) from None


@dataclass(frozen=True)
class Raw:
    """The rows one read returned, before parsing (the exporter publishes them as they are)."""

    status: dict[str, str]
    variables: dict[str, str]
    members: tuple[str, ...]
    # When the certificate the member presented expires (Unix time); None without TLS.
    tls_not_after: float | None = None


def read_raw(conn: Any, endpoint: Endpoint, member: str | None = None) -> Raw:
    """Read status, variables and (from a Primary member) the component's member names."""
    try:
        with conn.cursor() as cur:
            cur.execute(_STATUS_SQL)
            status_rows = dict(cur.fetchall())
            cur.nextset()
            variable_rows = dict(cur.fetchall())
            members: tuple[str, ...] = ()
            if str(status_rows.get("wsrep_cluster_status", "")).lower() == "primary":
                members = _component_members(cur)
    except (pymysql.err.MySQLError, OSError) as e:
        raise _translate(e, endpoint, member) from None
    return Raw(
        {str(k): str(v) for k, v in status_rows.items()},
        {str(k): str(v) for k, v in variable_rows.items()},
        members,
        _served_until(conn),
    )


def _served_until(conn: Any) -> float | None:
    """When the certificate the server presented on this connection expires."""
    sock = getattr(conn, "_sock", None)
    if not isinstance(sock, ssl.SSLSocket):
        return None
    cert = sock.getpeercert()
    not_after = cert.get("notAfter") if cert else None
    return float(ssl.cert_time_to_seconds(str(not_after))) if not_after else None


def parse_raw(raw: Raw, member: str | None = None) -> member_status.MemberStatus:
    try:
        return member_status.parse(raw.status, raw.variables, raw.members)
    except GaleraError as e:
        e.member = member
        raise


def read_status(
    conn: Any, endpoint: Endpoint, member: str | None = None
) -> member_status.MemberStatus:
    """Read and parse one member's status."""
    return parse_raw(read_raw(conn, endpoint, member), member)


def _component_members(cur: Any) -> tuple[str, ...]:
    """Node names in the current view (``mysql.wsrep_cluster_members``), if readable."""
    try:
        cur.execute("SELECT node_name FROM mysql.wsrep_cluster_members ORDER BY node_name")
        return tuple(str(row[0]) for row in cur.fetchall())
    except pymysql.err.MySQLError:
        return ()


def fetch_raw(endpoint: Endpoint, credentials: Credentials, member: str | None = None) -> Raw:
    """Connect, read the member's raw rows, disconnect."""
    conn = connect(endpoint, credentials, member)
    try:
        return read_raw(conn, endpoint, member)
    finally:
        conn.close()


def fetch_status(
    endpoint: Endpoint, credentials: Credentials, member: str | None = None
) -> member_status.MemberStatus:
    """Connect, read the member's status, disconnect."""
    conn = connect(endpoint, credentials, member)
    try:
        return read_status(conn, endpoint, member)
    finally:
        conn.close()


def execute(
    endpoint: Endpoint, credentials: Credentials, statements: list[str], member: str | None = None
) -> None:
    """Run statements (administrative set-up, tests). Errors become :class:`GaleraError`."""
    conn = connect(endpoint, credentials, member)
    try:
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
    except (pymysql.err.MySQLError, OSError) as e:
        raise _translate(e, endpoint, member) from None
    finally:
        conn.close()


# Open transactions of client sessions (replication's applier threads run as 'system user'
# and galeractl's own session is left out). Needs PROCESS; refused without it.
_CLIENT_TRX_SQL = (
    "SELECT COUNT(*) FROM information_schema.INNODB_TRX t "
    "JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id "
    "WHERE p.USER <> 'system user' AND p.ID <> CONNECTION_ID()"
)


def client_transactions(
    endpoint: Endpoint, credentials: Credentials, member: str | None = None
) -> int:
    """How many client transactions the member runs now (:class:`AccessDenied` without the
    PROCESS privilege)."""
    conn = connect(endpoint, credentials, member)
    try:
        with conn.cursor() as cur:
            cur.execute(_CLIENT_TRX_SQL)
            return int(cur.fetchone()[0])
    except (pymysql.err.MySQLError, OSError) as e:
        raise _translate(e, endpoint, member) from None
    finally:
        conn.close()
