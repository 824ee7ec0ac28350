"""Benchmark: ``galeractl exporter`` against Debian's ``prometheus-mysqld-exporter``.

Both scrape the same sandbox member in the same run (galeractl also with all 3 members):
scrape latency median and p99, CPU time per scrape, RSS after the scrapes, and the number
of Galera-related series (names with ``wsrep`` or ``galera``). Goals: with TLS (the
sandbox's default; mysqld_exporter verifies the member against the CA too, ``ssl-ca`` in
its my.cnf) single-member scrape no slower than the peer, RSS under 60 MB.

TLS against plaintext: a second sandbox made with ``--no-tls`` is up beside the first and
both exporters scrape one of its members too; the single-member medians with TLS and
without are printed with their ratio. Every exporter runs for the whole measurement and
they are scraped in turn, so that a busy moment of the machine falls on all of them.

Usage: python bench/exporter.py [--scrapes 50] [--base-port 24500] [--quick]
(--quick: 5 scrapes). The plaintext sandbox takes the 50 ports above the base port's 50.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from common import sandboxes

from galera.platforms.sandbox import Sandbox

PEER = "/usr/bin/prometheus-mysqld-exporter"
RSS_GOAL_MB = 60.0


def free_port() -> int:
    """A free port below the kernel's ephemeral range (see tests.helpers.free_port)."""
    import random

    for _ in range(200):
        port = random.randint(30000, 32700)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit("no free port from 30000 to 32700")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url, timeout=5).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} did not come up") from None
            time.sleep(0.2)


@dataclass
class Exporter:
    """One exporter process under measurement and what its scrapes took."""

    name: str
    cmd: list[str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    cpu_before: float = 0.0
    samples: list[float] = field(default_factory=list)
    body: bytes = b""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    def start(self) -> None:
        flag = "--web.listen-address=" if self.cmd[0] == PEER else "--listen="
        self.proc = subprocess.Popen(
            [*self.cmd, f"{flag}127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def scrape(self) -> None:
        start = time.perf_counter()
        self.body = urllib.request.urlopen(self.url, timeout=30).read()
        self.samples.append(time.perf_counter() - start)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


def report(e: Exporter, scrapes: int) -> tuple[float, float]:
    """Print one exporter's figures; (median scrape seconds, RSS MB)."""
    assert e.proc is not None
    cpu = (cpu_seconds(e.proc.pid) - e.cpu_before) / scrapes
    lines = [line for line in e.body.decode().splitlines() if line and not line.startswith("#")]
    down = [line for line in lines if line.startswith("mysql_up") and float(line.split()[-1]) == 0]
    if down:  # a peer that failed to connect (its TLS settings) would scrape fast and empty
        raise SystemExit(f"{e.name} could not read its member: {down[0]}")
    series = [line for line in lines if "wsrep" in line or "galera" in line]
    samples = sorted(e.samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    median, rss = statistics.median(samples), rss_mb(e.proc.pid)
    print(
        f"exporter  {e.name:<34} median={median * 1000:6.1f}ms  "
        f"p99={p99 * 1000:6.1f}ms  cpu/scrape={cpu * 1000:5.1f}ms  "
        f"rss={rss:5.1f}MB  galera_series={len(series)}"
    )
    return median, rss


def measure(exporters: list[Exporter], scrapes: int) -> dict[str, tuple[float, float]]:
    """Run every exporter at once, scrape them in turn ``scrapes`` times, print each one's
    figures; by name, (median scrape seconds, RSS MB)."""
    try:
        for e in exporters:
            e.start()
        for e in exporters:
            wait_up(e.url)
            urllib.request.urlopen(e.url, timeout=30).read()  # warm up
        for e in exporters:
            assert e.proc is not None
            e.cpu_before = cpu_seconds(e.proc.pid)
        for _ in range(scrapes):
            for e in exporters:
                e.scrape()
        return {e.name: report(e, scrapes) for e in exporters}
    finally:
        for e in exporters:
            e.stop()


def peer_cnf(box: Sandbox, path: Path) -> Path:
    """mysqld_exporter's my.cnf for the box's first member (verifying it against the CA
    when the box has TLS)."""
    first = box.data_members[0]
    credentials = box.spec().credentials()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(
            f"[client]\nuser={credentials.user}\npassword={credentials.password}\n"
            f"host={first.address}\nport={first.sql_port}\n"
        )
        if box.state.get("tls"):
            f.write(f"ssl-ca={box.tls_dir / 'ca.pem'}\n")
    return path


def single_member_file(box: Sandbox) -> Path:
    single = yaml.safe_load(box.cluster_file.read_text())
    single["members"] = [single["members"][0]]
    single["credentials"]["file"] = str(box.client_cnf)
    # Beside the sandbox's cluster file: its relative paths (agent token, CA) resolve.
    path = box.cluster_file.with_name("single.yaml")
    path.write_text(yaml.safe_dump(single))
    return path


def exporters(box: Sandbox, work: Path, suffix: str, all_members: bool) -> list[Exporter]:
    """mysqld_exporter and galeractl on the box's first member (and galeractl on all)."""
    galeractl = [sys.executable, "-m", "galera", "exporter", "-c"]
    peer = [
        PEER,
        f"--config.my-cnf={peer_cnf(box, work / f'peer{suffix}.cnf')}",
        "--collect.global_status",
        "--collect.global_variables",
    ]
    runs = [
        Exporter(f"mysqld-exporter (1 member{suffix})", peer),
        Exporter(f"galeractl (1 member{suffix})", [*galeractl, str(single_member_file(box))]),
    ]
    if all_members:
        runs.append(Exporter(f"galeractl (3 members{suffix})", [*galeractl, str(box.cluster_file)]))
    return runs


def verdict(met: bool) -> str:
    return "ok" if met else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scrapes", type=int, default=50)
    parser.add_argument("--base-port", type=int, default=24500)
    parser.add_argument("--quick", action="store_true", help="5 scrapes")
    args = parser.parse_args()
    if args.quick:
        args.scrapes = 5
    if not Path(PEER).exists():
        raise SystemExit(f"{PEER} is missing: apt-get install prometheus-mysqld-exporter")
    with sandboxes(3, args.base_port, "exporter", [True, False]) as (box, plain):
        work = Path(tempfile.mkdtemp(prefix="gbench-exporter-"))
        try:
            tls = exporters(box, work, "", all_members=True)
            off = exporters(plain, work, ", no TLS", all_members=False)
            figures = measure(tls + off, args.scrapes)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    (peer, _), (ours, rss) = figures[tls[0].name], figures[tls[1].name]
    (peer_off, _), (ours_off, _) = figures[off[0].name], figures[off[1].name]
    print(
        f"exporter  members=1  tls=on  galeractl={ours * 1000:.1f}ms  peer={peer * 1000:.1f}ms "
        f"(medians)  ratio={ours / peer:.2f} (goal <= 1.0) {verdict(ours <= peer)}  "
        f"rss={rss:.1f}MB (goal < {RSS_GOAL_MB:g}) {verdict(rss < RSS_GOAL_MB)}"
    )
    print(
        f"exporter  members=1  tls=on/off  galeractl={ours * 1000:.1f}/{ours_off * 1000:.1f}ms "
        f"ratio={ours / ours_off:.2f}  peer={peer * 1000:.1f}/{peer_off * 1000:.1f}ms "
        f"ratio={peer / peer_off:.2f}"
    )


if __name__ == "__main__":
    main()
