"""Benchmark: the container sandbox against the process sandbox, and the images' sizes.

In the same run, with the images already built (``scripts/build-images --local-base``, run
first; cached layers make that about a second):
  up:      ``galeractl sandbox up --containers`` (node containers formed as a first
           installation: ``bootstrap --initialize``, joiners by full SST) against its peer,
           ``galeractl sandbox up --first-install`` (the same formation with processes).
           Printed: the seconds to all Synced of each and their ratio.
  rss:     the agent's RSS as PID 1 of a container (``/proc/1/status`` inside it) against the
           agents of the process sandbox and the 40 MB target.
  images:  the node and controller images' sizes, and what galeractl adds to each over its
           system layer (MariaDB, Galera, Python: the floor an image of this base cannot go
           below).

Usage: python bench/containers.py [--nodes 3] [--base-port 25400] [--quick]
(--quick: one member each; the test suite runs it so that it cannot rot). Needs a running
Docker engine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import galeractl

from galera.platforms import docker
from galera.platforms.containers import CONTROLLER_IMAGE, IMAGE, ContainerSandbox
from galera.platforms.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
RSS_TARGET_MB = 40.0


def _up(args: list[str], root: Path) -> float:
    started = time.monotonic()
    result = galeractl("sandbox", "up", "--dir", str(root), *args)
    if result.returncode != 0:
        raise SystemExit(f"sandbox up {' '.join(args)} failed: {result.stderr.strip()}")
    return time.monotonic() - started


def _rss_of_status(text: str) -> float:
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _system_layer_mb(image: str) -> tuple[float, float]:
    """(the image's size, the size of its layers up to the system stage) in MB: everything
    from the first ``COPY --from`` on is galeractl's virtual environment."""
    out = docker.run(["history", "--no-trunc", "--format", "{{json .}}", image])
    layers = [json.loads(line) for line in out.splitlines() if line.strip()]
    total = float((docker.inspect("image", image) or {}).get("Size") or 0) / 1e6
    ours = 0.0
    for layer in layers:  # newest first
        if "COPY --from" in layer["CreatedBy"] or "COPY dir" in layer["CreatedBy"]:
            ours += _mb(layer["Size"])
    return total, total - ours


def _mb(size: str) -> float:
    units = {"B": 1e-6, "kB": 1e-3, "KB": 1e-3, "MB": 1.0, "GB": 1e3}
    for unit, factor in sorted(units.items(), key=lambda kv: -len(kv[0])):
        if size.endswith(unit):
            return float(size[: -len(unit)]) * factor
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--base-port", type=int, default=25400)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    nodes = 1 if args.quick else args.nodes
    problem = docker.available()
    if problem:
        raise SystemExit(f"bench/containers.py needs a Docker engine: {problem}")
    build = subprocess.run(
        ["bash", "scripts/build-images", "--local-base"], cwd=ROOT, capture_output=True, text=True
    )
    if build.returncode != 0:
        raise SystemExit(f"scripts/build-images failed: {build.stderr[-2000:]}")
    parent = Path(tempfile.mkdtemp(prefix="gbench-containers-"))
    boxes = {"containers": parent / "containers", "processes": parent / "processes"}
    try:
        port = ["--base-port", str(args.base_port)]
        peer = _up(["--first-install", "--nodes", str(nodes), *port], boxes["processes"])
        ours = _up(["--containers", "--nodes", str(nodes)], boxes["containers"])
        print(
            f"up      members={nodes}  containers={ours:.1f}s  processes(--first-install)="
            f"{peer:.1f}s  ratio={ours / peer:.2f}"
        )
        cbox = ContainerSandbox.load(boxes["containers"])
        rss = max(
            _rss_of_status(docker.exec_in(m.container, ["cat", "/proc/1/status"])[1])
            for m in cbox.data_members
        )
        pbox = Sandbox.load(boxes["processes"])
        rss_peer = max(
            _rss_of_status(Path(f"/proc/{pid}/status").read_text())
            for pid in pbox.state["agent_pids"].values()
        )
        verdict = "ok" if rss <= RSS_TARGET_MB else "MISSED"
        print(
            f"rss     agent as PID 1={rss:.1f}MB  agent as a process={rss_peer:.1f}MB  "
            f"ratio={rss / rss_peer:.2f}  target={RSS_TARGET_MB:.0f}MB "
            f"ratio={rss / RSS_TARGET_MB:.2f} {verdict}"
        )
        for image in (IMAGE, CONTROLLER_IMAGE):
            total, floor = _system_layer_mb(image)
            print(
                f"image   {image}  size={total:.0f}MB  system layers={floor:.0f}MB  "
                f"galeractl={total - floor:.0f}MB  ratio={total / floor:.2f}"
            )
    finally:
        for root in boxes.values():
            if (root / "sandbox.json").exists():
                galeractl("sandbox", "down", "--purge", "--dir", str(root))
        shutil.rmtree(parent, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
