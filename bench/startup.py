"""From exec to registered: a phone agent process next to a baresip process, same Kamailio."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bench.lab import BenchLab
from bench.procstat import rss_mb

REGISTER_TIMEOUT_S = 5.0


def python_bare(runs: int) -> list[float]:
    """ms for `python -c pass`: the venv's interpreter start and exit."""
    out = []
    for _ in range(runs):
        start = time.monotonic()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        out.append(1000 * (time.monotonic() - start))
    return out


def agent_imports(lab: BenchLab, runs: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """ms spent importing while an agent starts (until its ready line), every module counted, also
    those its run() imports late: phone agents started with PYTHONPROFILEIMPORTTIME=1, read from
    their stderr. The instrumentation slows imports down, so each run also gives the share (%) of
    its own exec -> ready time that went to imports. Returns {"ms", "share"} and, per top-level
    package, its modules' own import time."""
    out: dict[str, list[float]] = {"ms": [], "share": []}
    packages: dict[str, list[float]] = {}
    for _ in range(runs):
        agent = lab.phone("1003", start=False)
        os.environ["PYTHONPROFILEIMPORTTIME"] = "1"
        try:
            start = time.monotonic()
            agent.start()
            ready_ms = 1000 * (time.monotonic() - start)
        finally:
            del os.environ["PYTHONPROFILEIMPORTTIME"]
            lab.release(agent)
        total, own = _import_times(agent.workdir / f"{agent.name}.stderr")
        out["ms"].append(total)
        out["share"].append(100 * total / ready_ms)
        for name, ms in own.items():
            packages.setdefault(name, []).append(ms)
    return out, packages


def _import_times(stderr: Path) -> tuple[float, dict[str, float]]:
    """From `-X importtime` lines ("import time: self | cumulative | name", nesting shown by the
    name's indent): the sum of the cumulative times at nesting level 0, and the self times summed by
    top-level package (ms)."""
    total_us = 0
    own_us: dict[str, int] = {}
    for line in stderr.read_text(errors="replace").splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2]
        if len(name) - len(name.lstrip(" ")) == 1:
            total_us += int(parts[1])
        package = name.strip().split(".")[0].lstrip("_")
        own_us[package] = own_us.get(package, 0) + int(parts[0].removeprefix("import time:"))
    return total_us / 1000, {name: us / 1000 for name, us in own_us.items()}


def phone(lab: BenchLab, runs: int) -> dict[str, list[float]]:
    """ms: exec -> agent ready (imports, config, pjsua2 up, REGISTER sent), ready -> registered,
    exec -> registered; and RSS (MiB) just after registration."""
    out: dict[str, list[float]] = {"exec_ready": [], "ready_registered": [], "exec_registered": [], "rss": []}
    for _ in range(runs):
        agent = lab.phone("1003", start=False)
        try:
            start = time.monotonic()
            agent.start()
            ready = time.monotonic()
            agent.wait(REGISTER_TIMEOUT_S, registration="registered")
            registered = time.monotonic()
            assert agent.pid is not None
            out["rss"].append(rss_mb(agent.pid))
        finally:
            lab.release(agent)
        out["exec_ready"].append(1000 * (ready - start))
        out["ready_registered"].append(1000 * (registered - ready))
        out["exec_registered"].append(1000 * (registered - start))
    return out


def baresip(lab: BenchLab, runs: int) -> dict[str, list[float]]:
    """ms: exec -> account created over ctrl_tcp (REGISTER sent), that -> REGISTER_OK, exec ->
    REGISTER_OK; and RSS (MiB) just after registration."""
    out: dict[str, list[float]] = {"exec_ready": [], "ready_registered": [], "exec_registered": [], "rss": []}
    for _ in range(runs):
        peer = lab.baresip("2003", start=False)
        try:
            start = time.monotonic()
            peer.start()
            assert peer.start_seconds is not None and peer.pid is not None
            ready = start + peer.start_seconds
            registered = peer.wait_registered(REGISTER_TIMEOUT_S).at
            out["rss"].append(rss_mb(peer.pid))
        finally:
            lab.release(peer)
        out["exec_ready"].append(1000 * (ready - start))
        out["ready_registered"].append(1000 * (registered - ready))
        out["exec_registered"].append(1000 * (registered - start))
    return out
