"""Benchmark: wall time of ``galeractl status`` against its goals and sequential ``mariadb`` calls.

For 3 and 7 members, in the same run, on a real sandbox:
  galeractl:  ``galeractl status -c cluster.yaml -o json`` (parallel reads, one process)
  peer:       for each member in turn, ``mariadb -e "SHOW GLOBAL STATUS LIKE 'wsrep%'"``
Both are whole commands, timed from a cold process start; the median of --repeat runs is
printed against the goal (3 members: at most 0.12 s) and with the ratio galeractl/peer
(below 1.0: galeractl is faster). The RSS of every agent process is printed against the
40 MB target.

TLS (the sandbox's default) against plaintext: a second sandbox made with ``--no-tls`` is
up beside the first, and both commands are timed on both, the runs interleaved so that a
busy moment of the machine falls on either. Printed: the medians with TLS and without and
their ratio, galeractl's against its goal (with TLS at most 1.2 times plaintext).

Then one member is made unreachable: its address in a copy of the cluster file is moved
into a network namespace that drops every packet it receives (a member behind a network
cut: connections neither succeed nor fail, they time out). ``status`` must then take at
most the connect timeout plus 0.3 s: SQL and the member's agent are asked at once, not one
after the other. Needs root (namespaces, iptables); skipped, saying why, without.

Usage: python bench/status.py [--repeat 15] [--sizes 3,7] [--base-port 24000] [--quick]
(--quick: 3 members, 3 repeats, 1 unreachable run; the test suite runs it so that it
cannot rot). The plaintext sandbox takes the 50 ports above the base port's 50.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from common import sandboxes

from galera.platforms.sandbox import Sandbox

RSS_TARGET_MB = 40.0
STATUS_GOAL = {3: 0.12}  # seconds, by member count
UNREACHABLE_SLACK = 0.3  # seconds over the connect timeout
TLS_GOAL = 1.2  # status with TLS over status in plaintext


def timed(cmds: list[list[str]], repeat: int) -> float:
    """Median wall time of running ``cmds`` one after the other, ``repeat`` times."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for cmd in cmds:
            result = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if result.returncode not in (0, 1):
                raise SystemExit(f"{cmd[0]} failed: {result.stderr.strip()}")
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def timed_alternately(runs: dict[str, list[list[str]]], repeat: int) -> dict[str, float]:
    """Like :func:`timed` for each of ``runs``, one run of each in turn, ``repeat`` times:
    the machine's busy moments fall on all of them, not on whichever was timed then."""
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, cmds in runs.items():
            samples[name].append(timed(cmds, 1))
    return {name: statistics.median(values) for name, values in samples.items()}


def against(seconds: float, goal: float | None) -> str:
    if goal is None:
        return f"{seconds:.2f} s"
    verdict = "ok" if seconds <= goal else "MISSED"
    return f"{seconds:.2f} s (goal ≤ {goal:.2f} s) {verdict}"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def status_cmd(cluster_file: Path) -> list[str]:
    """``galeractl status`` as a person runs it: the installed script, else ``-m galera``."""
    script = Path(sys.executable).with_name("galeractl")
    galeractl = [str(script)] if script.exists() else [sys.executable, "-m", "galera"]
    return [*galeractl, "status", "-c", str(cluster_file), "-o", "json"]


def peer_cmds(box: Sandbox) -> list[list[str]]:
    tls = [f"--ssl-ca={box.tls_dir / 'ca.pem'}", "--ssl-verify-server-cert"]
    return [
        [
            "mariadb",
            f"--defaults-extra-file={box.client_cnf}",
            *(tls if box.state.get("tls") else []),
            "-h",
            m.address,
            "-P",
            str(m.sql_port),
            "--batch",
            "-e",
            "SHOW GLOBAL STATUS LIKE 'wsrep%'",
        ]
        for m in box.data_members
    ]


def ratio_verdict(ratio: float, goal: float) -> str:
    return f"ratio={ratio:.2f} (goal <= {goal:g}) {'ok' if ratio <= goal else 'MISSED'}"


def bench_status(box: Sandbox, plain: Sandbox, nodes: int, repeat: int) -> None:
    runs = {
        "ours": [status_cmd(box.cluster_file)],
        "peer": peer_cmds(box),
        "ours-plain": [status_cmd(plain.cluster_file)],
        "peer-plain": peer_cmds(plain),
    }
    timed_alternately(runs, 2)  # warm the page cache for all
    t = timed_alternately(runs, repeat)
    t_ours, t_peer = t["ours"], t["peer"]
    print(f"status {nodes} members: {against(t_ours, STATUS_GOAL.get(nodes))}")
    print(
        f"status  members={nodes}  galeractl={t_ours * 1000:.0f}ms  "
        f"sequential-mariadb={t_peer * 1000:.0f}ms  ratio={t_ours / t_peer:.2f}"
    )
    print(
        f"status  members={nodes}  tls=on/off  galeractl={t_ours * 1000:.0f}/"
        f"{t['ours-plain'] * 1000:.0f}ms  {ratio_verdict(t_ours / t['ours-plain'], TLS_GOAL)}"
        f"  (sequential-mariadb={t_peer * 1000:.0f}/{t['peer-plain'] * 1000:.0f}ms "
        f"ratio={t_peer / t['peer-plain']:.2f})"
    )
    rss = max(rss_mb(pid) for pid in box.state["agent_pids"].values())
    verdict = "ok" if rss <= RSS_TARGET_MB else "MISSED"
    print(
        f"agent   members={nodes}  rss_max={rss:.1f}MB  target={RSS_TARGET_MB:.0f}MB  "
        f"ratio={rss / RSS_TARGET_MB:.2f} {verdict}"
    )


def _sh(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, check=False)


@contextmanager
def dropping_address(base_port: int) -> Iterator[tuple[str | None, str]]:
    """An address whose packets vanish, and why there is none (when namespaces are missing).

    A namespace joined to the host by a veth pair on a /30 of its own, with ``iptables -A
    INPUT -j DROP`` inside: a SYN sent there is neither answered nor refused.
    """
    ns, veth = f"gbench-drop-{base_port}", f"gbd{base_port}"
    net = f"10.232.{(base_port // 100) % 256}"
    steps = [
        ("ip", "netns", "add", ns),
        ("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns),
        ("ip", "addr", "add", f"{net}.1/30", "dev", veth),
        ("ip", "link", "set", veth, "up"),
        ("ip", "-n", ns, "addr", "add", f"{net}.2/30", "dev", "eth0"),
        ("ip", "-n", ns, "link", "set", "eth0", "up"),
        ("ip", "netns", "exec", ns, "iptables", "-A", "INPUT", "-j", "DROP"),
    ]
    _sh("ip", "link", "del", veth)  # leftovers of an interrupted run
    _sh("ip", "netns", "del", ns)
    try:
        for step in steps:
            result = _sh(*step)
            if result.returncode != 0:
                yield None, f"{' '.join(step)}: {result.stderr.strip() or 'failed'}"
                return
        yield f"{net}.2", ""
    finally:
        _sh("ip", "link", "del", veth)
        _sh("ip", "netns", "del", ns)


def unreachable_copy(box: Sandbox, member: str, address: str) -> Path:
    """A copy of the cluster file in which ``member`` (SQL and agent) lives at ``address``."""
    data = yaml.safe_load(box.cluster_file.read_text())
    for m in data["members"]:
        if m["name"] == member:
            m["agent"] = m["agent"].replace(f"//{m['host']}:", f"//{address}:")
            m["host"] = address
    path = box.cluster_file.with_name("cluster-unreachable.yaml")
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def bench_unreachable(box: Sandbox, repeat: int, base_port: int) -> None:
    timeout = box.spec().connect_timeout
    goal = timeout + UNREACHABLE_SLACK
    member = box.data_members[len(box.data_members) // 2].name
    with dropping_address(base_port) as (address, why):
        if address is None:
            print(f"unreachable member: skipped ({why})")
            return
        seconds = timed([status_cmd(unreachable_copy(box, member, address))], repeat)
    verdict = "ok" if seconds <= goal else "MISSED"
    print(
        f"unreachable member: {seconds:.2f} s "
        f"(goal ≤ connect timeout {timeout:g} + {UNREACHABLE_SLACK} s) {verdict}"
    )


def bytecode_note() -> str | None:
    """Why galeractl may start slower here than installed: its modules compiled every run."""
    init = Path(__file__).resolve().parent.parent / "galera" / "__init__.py"
    cached = Path(importlib.util.cache_from_source(str(init))).exists()
    if cached or not os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return None
    return (
        "note: PYTHONDONTWRITEBYTECODE is set and galera has no cached bytecode: every run "
        "compiles its modules (an installed package does not)"
    )


def bench_size(nodes: int, repeat: int, base_port: int, unreachable_repeat: int) -> None:
    with sandboxes(nodes, base_port, f"status{nodes}", [True, False]) as (box, plain):
        bench_status(box, plain, nodes, repeat)
        if unreachable_repeat:
            bench_unreachable(box, unreachable_repeat, base_port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--sizes", default="3,7")
    parser.add_argument("--base-port", type=int, default=24000)
    parser.add_argument("--quick", action="store_true", help="3 members, 3 repeats")
    args = parser.parse_args()
    if args.quick:
        args.repeat, args.sizes = 3, "3"
    sizes = [int(n) for n in args.sizes.split(",")]
    note = bytecode_note()
    if note:
        print(note)
    for nodes in sizes:
        # The unreachable case waits out a connect timeout per run: once, at the first size.
        unreachable = max(args.repeat // 5, 1) if nodes == sizes[0] else 0
        bench_size(nodes, args.repeat, args.base_port, unreachable)


if __name__ == "__main__":
    main()
