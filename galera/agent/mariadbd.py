"""What the agent asks of the ``mariadbd`` binaries without supervising a server: write the
member's option file, check options with mariadbd itself, create system tables for a
brand-new first member, and read the end of the error log."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from galera.agent import guard
from galera.config.agent import AgentConfig
from galera.errors import InvalidInput, OperationFailed
from galera.render import MemberConfig, render_member_config


def files_dir(config: AgentConfig) -> Path:
    """The only directory SQL may read or write files in (``secure_file_priv``): an empty
    one of its own, so that no account with FILE can read the agent's token, the client
    credentials or the option files."""
    return config.rundir / "sql-files"


def write_config(config: AgentConfig, server: MemberConfig) -> None:
    """Write the option file mariadbd starts with, atomically (0644)."""
    config.rundir.mkdir(parents=True, exist_ok=True)
    Path(server.datadir).mkdir(parents=True, exist_ok=True)
    files = files_dir(config)
    files.mkdir(mode=0o750, exist_ok=True)
    if config.server.user:
        import shutil

        shutil.chown(files, user=config.server.user)
    tmp = config.config_file.with_suffix(".tmp")
    tmp.write_text(render_member_config(server))
    os.chmod(tmp, 0o644)
    os.replace(tmp, config.config_file)


def validate(config: AgentConfig, server: MemberConfig) -> None:
    """Ask mariadbd itself whether ``server``'s options are valid.

    ``mariadbd --help --verbose`` parses every option and fails on unknown variables or
    malformed values, without starting anything. Each check has its own option file, so
    checks running at once never read each other's. Raises :class:`InvalidInput` naming the
    problem as mariadbd reports it.
    """
    config.rundir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", dir=config.rundir, prefix="validate-", suffix=".cnf"
    ) as probe:
        probe.write(render_member_config(server))
        probe.flush()
        result = subprocess.run(
            [config.mariadbd, f"--defaults-file={probe.name}", "--help", "--verbose"],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
        detail = (errors or result.stderr.strip().splitlines() or ["rejected"])[-1]
        raise InvalidInput(
            f"configuration rejected by mariadbd: {detail.strip()[-200:]}", member=config.name
        )


def install_system_tables(config: AgentConfig) -> bool:
    """A brand-new first member needs system tables; joiners get them by SST.

    True when the tables were created now (the time to run ``init_file``).
    """
    datadir = Path(config.server.datadir)
    if (datadir / "mysql").is_dir():
        return False
    cmd = [
        config.install_db,
        f"--defaults-file={config.config_file}",
        f"--datadir={datadir}",
        "--skip-test-db",
        "--auth-root-authentication-method=socket",
    ]
    if config.server.user:
        cmd.append(f"--user={config.server.user}")
    result = subprocess.run(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
    )
    if result.returncode != 0:
        # Its output ends with the real reason; warnings come first.
        lines = [line for line in result.stdout.splitlines() if line.strip()]
        errors = [line for line in lines if "ERROR" in line] or lines[-3:]
        raise OperationFailed(
            f"mariadb-install-db failed (exit {result.returncode}): "
            f"{' | '.join(errors[-3:])[-400:]}",
            member=config.name,
        )
    return True


def error_log_tail(config: AgentConfig, lines: int = 5) -> list[str]:
    """The last ``lines`` lines of the error log (each cut to 300 characters), read from
    the end of the file: memory stays bounded however large the log grows."""
    return guard.tail(Path(config.server.log_error), lines)
