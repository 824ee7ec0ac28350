"""The GRANTs docs/cluster-file.md states, on a real MariaDB Galera member.

The accounts are created from the SQL blocks of the page's "Exact GRANTs each command
needs" section, so the page and this test cannot drift apart. Each documented command runs
as the real galeractl against a one-member sandbox whose cluster file holds the
least-privilege account; the ``SET GLOBAL`` statements are refused with one privilege less.
Ports 26000-26099 are this file's: SQL 26000, Galera 26010, IST 26020, SST 26030, agent
26040, exporter 26050.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from galera import sql
from galera.config import clusterfile, endpoints
from galera.controller import bootstrap
from galera.errors import AccessDenied
from tests.helpers import ROOT, galeractl, one_line_error, streaming
from tests.integration.conftest import SandboxHandle, _up, scrape

pytestmark = pytest.mark.cluster

DOC = ROOT / "docs" / "cluster-file.md"
SECTION = "## Exact GRANTs each command needs"
BASE_PORT = 26000
EXPORTER_PORT = 26050
MEMBER = "galera-0"


def documented_accounts() -> dict[str, list[str]]:
    """{user: its CREATE USER and GRANT statements} from the SQL blocks of the section."""
    text = DOC.read_text()
    assert SECTION in text, f"{DOC} lost its section {SECTION!r}"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    accounts: dict[str, list[str]] = {}
    for block in re.findall(r"```sql\n(.*?)```", section, re.S):
        code = "\n".join(line for line in block.splitlines() if not line.startswith("--"))
        for statement in (" ".join(s.split()) for s in code.split(";")):
            if not statement:
                continue
            user = re.search(r"'(\w+)'@'%'", statement)
            assert user, f"no 'user'@'%' in {statement!r}"
            accounts.setdefault(user.group(1), []).append(statement)
    return accounts


def without_super(statements: list[str]) -> list[str]:
    """The same grants with SUPER taken out: one privilege less."""
    kept = []
    for statement in statements:
        match = re.fullmatch(r"GRANT (.+) ON \*\.\* TO (.+)", statement)
        if match:
            privileges = [p.strip() for p in match.group(1).split(",")]
            rest = [p for p in privileges if p.upper() != "SUPER"]
            statement = f"GRANT {', '.join(rest or ['USAGE'])} ON *.* TO {match.group(2)}"
        kept.append(statement)
    return kept


class Accounts:
    """Least-privilege accounts on the sandbox, each with its own cluster file."""

    def __init__(self, handle: SandboxHandle) -> None:
        self.handle = handle
        self.documented = documented_accounts()

    def create(self, name: str, statements: list[str]) -> Path:
        """Create ``name`` with ``statements`` (written for their documented user) as the
        sandbox's administrator; returns a cluster file that uses it."""
        password = secrets.token_hex(12)
        rewritten = []
        for statement in statements:
            statement = re.sub(r"'\w+'@'%'", f"'{name}'@'%'", statement)
            rewritten.append(statement.replace("'…'", f"'{password}'"))
        spec = self.handle.spec
        m = spec.member(MEMBER)
        sql.execute(endpoints.of_member(spec, m), spec.credentials(), rewritten)
        root = self.handle.root
        cnf = root / f"{name}.cnf"
        fd = os.open(cnf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"[client]\nuser = {name}\npassword = {password}\n")
        data = yaml.safe_load(self.handle.cluster_file.read_text())
        data.pop("sandbox", None)
        data["credentials"] = {"file": cnf.name}
        path = root / f"{name}.yaml"
        path.write_text(clusterfile.dump(data))
        return path

    def admin_query(self, query: str) -> list[tuple[str, ...]]:
        spec = self.handle.spec
        m = spec.member(MEMBER)
        conn = sql.connect(endpoints.of_member(spec, m), spec.credentials())
        try:
            with conn.cursor() as cur:
                cur.execute(query)
                return [tuple(str(v) for v in row) for row in cur.fetchall()]
        finally:
            conn.close()


@pytest.fixture(scope="module")
def accounts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Accounts]:
    """A one-member sandbox (ports from 26000) and the documented accounts' helper."""
    for handle in _up(tmp_path_factory.mktemp("grants"), "--nodes", "1", "--base-port", "26000"):
        yield Accounts(handle)


@pytest.fixture(scope="module")
def monitor(accounts: Accounts) -> Path:
    return accounts.create("monitor", accounts.documented["monitor"])


@pytest.fixture(scope="module")
def operator(accounts: Accounts) -> Path:
    return accounts.create("operator", accounts.documented["operator"])


@pytest.fixture(scope="module")
def operator_without_super(accounts: Accounts) -> Path:
    return accounts.create("op_nosuper", without_super(accounts.documented["operator"]))


def test_the_page_documents_a_read_only_and_an_operator_account() -> None:
    found = documented_accounts()
    assert set(found) == {"monitor", "operator"}
    grants = {
        user: " ".join(s for s in stmts if s.startswith("GRANT")) for user, stmts in found.items()
    }
    assert "SUPER" not in grants["monitor"]
    assert "SUPER" in grants["operator"]
    for user in found:
        assert f"SELECT ON mysql.wsrep_cluster_members TO '{user}'@'%'" in grants[user]


def test_status_and_quorum_read_everything_with_the_monitor_grants(monitor: Path) -> None:
    status = galeractl("status", "-c", str(monitor), "-o", "json")
    assert status.code == 0, status.stderr
    assert status.json()["cluster"]["verdict"] == "healthy"
    quorum = galeractl("quorum", "-c", str(monitor), "-o", "json")
    assert quorum.code == 0, quorum.stderr
    # The member names come from mysql.wsrep_cluster_members: the SELECT grant works.
    assert quorum.json()["quorum"]["members"] == [MEMBER]


def test_without_the_select_grant_the_members_are_only_unnamed(accounts: Accounts) -> None:
    usage_only = [s for s in accounts.documented["monitor"] if "wsrep_cluster_members" not in s]
    cluster_file = accounts.create("usage_only", usage_only)
    result = galeractl("quorum", "-c", str(cluster_file), "-o", "json")
    assert result.code == 0, result.stderr
    assert result.json()["quorum"]["members"] == []
    assert galeractl("status", "-c", str(cluster_file)).code == 0


def test_the_agents_local_read_works_with_the_monitor_grants(
    accounts: Accounts, monitor: Path
) -> None:
    socket = accounts.handle.sandbox.member(MEMBER).socket
    credentials = clusterfile.load(monitor).credentials()
    raw = sql.fetch_raw(sql.Endpoint(unix_socket=str(socket)), credentials, MEMBER)
    assert raw.members == (MEMBER,)
    assert raw.status["wsrep_cluster_status"] == "Primary"
    assert "wsrep_provider_options" in raw.variables


def test_agent_driven_commands_need_only_the_monitor_grants(monitor: Path) -> None:
    rejoin = galeractl("rejoin", "-c", str(monitor), "-o", "json")
    assert rejoin.code == 0, rejoin.stderr
    conflicts = galeractl("conflicts", "-c", str(monitor), "-o", "json")
    assert conflicts.code == 0, conflicts.stderr
    assert conflicts.json()["members"][0]["error"] is None
    # With one member the quorum gate refuses any restart: the refusal proves every read
    # before it worked (an access error would be reported instead).
    for args in (["rolling-restart"], ["upgrade", "--set", "max_connections=120"]):
        result = galeractl(*args, "-c", str(monitor), "--dry-run", "-o", "json")
        assert result.code == 1
        assert "quorum would be at risk" in one_line_error(result)


@contextlib.contextmanager
def exporter(cluster_file: Path) -> Iterator[str]:
    url = f"http://127.0.0.1:{EXPORTER_PORT}/metrics"
    command = ["exporter", "-c", str(cluster_file), "--listen", f"127.0.0.1:{EXPORTER_PORT}"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "galera", *command, "--label", "cluster=test"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, "the exporter exited"
            try:
                if (
                    b"galera_exporter_scrape_duration_seconds"
                    in urllib.request.urlopen(url, timeout=5).read()
                ):
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the exporter did not start"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_exporter_reads_every_member_with_the_monitor_grants(monitor: Path) -> None:
    with exporter(monitor) as url:
        samples = scrape(url)
    labels = (("cluster", "test"), ("member", MEMBER))
    assert samples[("mysql_up", labels)] == 1.0
    assert samples[("mysql_global_status_wsrep_cluster_size", labels)] == 1.0


def log_conflicts(accounts: Accounts) -> tuple[str, str]:
    (value,) = accounts.admin_query("SELECT @@GLOBAL.wsrep_log_conflicts")[0]
    (options,) = accounts.admin_query("SELECT @@GLOBAL.wsrep_provider_options")[0]
    cert = re.search(r"cert\.log_conflicts = (\w+)", options)
    assert cert
    return value, cert.group(1).upper()


def test_enable_logging_needs_super(
    accounts: Accounts, monitor: Path, operator_without_super: Path, operator: Path
) -> None:
    assert log_conflicts(accounts) == ("0", "NO")
    for refused in (monitor, operator_without_super):
        result = galeractl("conflicts", "--enable-logging", "-c", str(refused), "-o", "json")
        assert result.code != 0
        error = one_line_error(result)
        assert "1227" in error and "SUPER" in error, error
        assert log_conflicts(accounts) == ("0", "NO")
    result = galeractl("conflicts", "--enable-logging", "-c", str(operator), "-o", "json")
    assert result.code == 0, result.stderr
    assert result.json()["members"][0]["log_conflicts_enabled"] is True
    assert log_conflicts(accounts) == ("1", "YES")


def test_pc_bootstrap_needs_super(
    monitor: Path, operator_without_super: Path, operator: Path
) -> None:
    """The statement bootstrap sends to a running non-Primary member, sent here to a Primary
    one (Galera ignores it there): refused without SUPER, accepted with it."""
    for refused in (monitor, operator_without_super):
        with pytest.raises(AccessDenied, match=r"SUPER.*1227"):
            bootstrap._pc_bootstrap(clusterfile.load(refused), MEMBER)
    bootstrap._pc_bootstrap(clusterfile.load(operator), MEMBER)
    status = galeractl("status", "-c", str(operator), "-o", "json")
    assert status.code == 0, status.stderr
    assert status.json()["cluster"]["verdict"] == "healthy"


def test_bootstrap_and_the_controller_read_with_the_operator_grants(operator: Path) -> None:
    result = galeractl("bootstrap", "-c", str(operator), "--dry-run", "-o", "json")
    assert result.code == 1  # the member is Primary: nothing may be bootstrapped
    assert "is Primary" in one_line_error(result)
    proc = streaming("controller", "-c", str(operator))
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=30)
    assert first, err
    # It read the member as Primary and Synced (an unreadable member would be "down").
    assert json.loads(first) == {
        "event": "decision",
        "action": "wait",
        "reason": "healthy",
        "members": [],
    }, err


def test_two_accounts_monitoring_reads_and_the_admin_account_changes_state(
    accounts: Accounts, monitor: Path, operator: Path
) -> None:
    """credentials: the monitoring account for every read; admin_credentials: the account
    for SET GLOBAL only (conflict logging, pc.bootstrap)."""
    data = yaml.safe_load(monitor.read_text())
    data["admin_credentials"] = {"file": "operator.cnf"}
    both = monitor.with_name("two-accounts.yaml")
    both.write_text(clusterfile.dump(data))
    spec = clusterfile.load(both)
    assert spec.credentials().user == "monitor"
    assert spec.admin_credentials().user == "operator"
    assert galeractl("status", "-c", str(both)).code == 0
    result = galeractl("conflicts", "--enable-logging", "-c", str(both), "-o", "json")
    assert result.code == 0, result.stderr
    assert result.json()["members"][0]["log_conflicts_enabled"] is True
    bootstrap._pc_bootstrap(spec, MEMBER)  # with the admin account (ignored on a Primary)


def test_switchover_waits_for_transactions_with_process_and_for_connections_without(
    accounts: Accounts, monitor: Path
) -> None:
    from galera.controller import waiting

    full = waiting.transactions_gone(accounts.handle.spec, MEMBER, 2)
    assert full[1:] == (0, "transactions")  # the sandbox's account has PROCESS
    # The monitor account lacks PROCESS: only the old writer's connections can be counted.
    limited = waiting.transactions_gone(clusterfile.load(monitor), MEMBER, 2)
    assert limited[2] == "connections" and limited[1] is not None
