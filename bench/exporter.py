"""Benchmark: ``galeractl exporter`` against Debian's ``prometheus-mysqld-exporter``.

Both scrape the same sandbox member in the same run (galeractl also with all 3 members):
scrape latency median and p99, CPU time per scrape, RSS after the scrapes, and the number
of Galera-related series (names with ``wsrep`` or ``galera``). Goals: single-member scrape
no slower than the peer, RSS under 60 MB.

Usage: python bench/exporter.py [--scrapes 50] [--base-port 24500] [--quick]
(--quick: 5 scrapes)
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
from pathlib import Path

import yaml
from common import sandbox

PEER = "/usr/bin/prometheus-mysqld-exporter"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


def measure(
    name: str, proc: subprocess.Popen[bytes], url: str, scrapes: int
) -> tuple[float, float]:
    """Print one exporter's figures; (median scrape seconds, RSS MB)."""
    wait_up(url)
    urllib.request.urlopen(url, timeout=30).read()  # warm up
    cpu_before = cpu_seconds(proc.pid)
    samples = []
    body = b""
    for _ in range(scrapes):
        start = time.perf_counter()
        body = urllib.request.urlopen(url, timeout=30).read()
        samples.append(time.perf_counter() - start)
    cpu = (cpu_seconds(proc.pid) - cpu_before) / scrapes
    series = [
        line
        for line in body.decode().splitlines()
        if line and not line.startswith("#") and ("wsrep" in line or "galera" in line)
    ]
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    median, rss = statistics.median(samples), rss_mb(proc.pid)
    print(
        f"exporter  {name:<26} median={median * 1000:6.1f}ms  "
        f"p99={p99 * 1000:6.1f}ms  cpu/scrape={cpu * 1000:5.1f}ms  "
        f"rss={rss:5.1f}MB  galera_series={len(series)}"
    )
    return median, rss


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
    with sandbox(3, args.base_port, "exporter") as box:
        work = Path(tempfile.mkdtemp(prefix="gbench-exporter-"))
        try:
            first = box.data_members[0]
            credentials = box.spec().credentials()
            peer_cnf = work / "peer.cnf"
            fd = os.open(peer_cnf, os.O_WRONLY | os.O_CREAT, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(
                    f"[client]\nuser={credentials.user}\npassword={credentials.password}\n"
                    f"host={first.address}\nport={first.sql_port}\n"
                    f"ssl-ca={box.tls_dir / 'ca.pem'}\n"
                )
            single = yaml.safe_load(box.cluster_file.read_text())
            single["members"] = [single["members"][0]]
            single["credentials"]["file"] = str(box.client_cnf)
            # Beside the sandbox's cluster file: its relative paths (agent token) resolve.
            single_file = box.cluster_file.with_name("single.yaml")
            single_file.write_text(yaml.safe_dump(single))
            runs = [
                (
                    "mysqld-exporter (1 member)",
                    [
                        PEER,
                        f"--config.my-cnf={peer_cnf}",
                        "--collect.global_status",
                        "--collect.global_variables",
                    ],
                ),
                (
                    "galeractl (1 member)",
                    [sys.executable, "-m", "galera", "exporter", "-c", str(single_file)],
                ),
                (
                    "galeractl (3 members)",
                    [sys.executable, "-m", "galera", "exporter", "-c", str(box.cluster_file)],
                ),
            ]
            figures = {}
            for name, cmd in runs:
                port = free_port()
                flag = "--web.listen-address=" if cmd[0] == PEER else "--listen="
                proc = subprocess.Popen(
                    [*cmd, f"{flag}127.0.0.1:{port}"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                try:
                    figures[name] = measure(
                        name, proc, f"http://127.0.0.1:{port}/metrics", args.scrapes
                    )
                finally:
                    proc.terminate()
                    proc.wait(10)
            (peer, _), (ours, rss) = figures[runs[0][0]], figures[runs[1][0]]
            print(
                f"exporter  members=1  galeractl={ours * 1000:.1f}ms  peer={peer * 1000:.1f}ms "
                f"(medians)  ratio={ours / peer:.2f} (goal <= 1.0)  rss={rss:.1f}MB "
                "(goal < 60)"
            )
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
