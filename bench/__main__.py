"""Run every benchmark, print the figures as a Markdown table and write docs/benchmarks.md.

.venv/bin/python -m bench                    # the full run (about 3 minutes on 2 cores)
.venv/bin/python -m bench --soak-calls 1000  # with the issue's 1,000-call soak (about 1 minute more)
.venv/bin/python -m bench --quick            # a smoke run with few repetitions; docs untouched
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TypeVar

from bench import (
    calls,
    cusax,
    inprocess,
    plots,
    provisioning,
    report,
    resources,
    roster,
    roundtrip,
    soak,
    startup,
)
from bench.figures import Results, build
from bench.lab import BenchLab
from firmware.xmpp.model import Contact

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
LATENCY_PNG = DOCS.with_name("bench-latency.png")
RSS_PNG = DOCS.with_name("bench-rss.png")
MEMORY_PNG = DOCS.with_name("bench-memory.png")
ROSTER_SIZES = (1_000, 10_000)
T = TypeVar("T")


@dataclass(frozen=True)
class Runs:
    inprocess: int = 200
    startup: int = 8
    interpreter: int = 5
    calls: int = 10
    rtt: int = 6
    idle_s: int = 10
    cusax: int = 200
    polls: int = 40
    reprovision: int = 3
    roster: int = 3
    soak_calls: int = 200


QUICK = Runs(
    inprocess=30, startup=2, interpreter=2, calls=2, rtt=2, idle_s=3, cusax=30, polls=5, reprovision=1,
    roster=1, soak_calls=20,
)  # fmt: skip
TUNED_JITTER = {"init_ms": 0, "min_pre_ms": 0, "max_pre_ms": 10, "max_ms": 50}


def step(what: str, fn: Callable[[], T]) -> T:
    start = time.monotonic()
    print(f"[bench] {what} ...", file=sys.stderr, flush=True)
    result = fn()
    print(f"[bench] {what}: {time.monotonic() - start:.1f} s", file=sys.stderr, flush=True)
    return result


def run_lab(lab: BenchLab, runs: Runs, res: Results) -> None:
    res.phone_start = step("phone exec -> registered", lambda: startup.phone(lab, runs.startup))
    res.baresip_start = step("baresip exec -> registered", lambda: startup.baresip(lab, runs.startup))
    bare = step("python -c pass", lambda: startup.python_bare(runs.interpreter))
    imports, res.import_packages = step("agent imports", lambda: startup.agent_imports(lab, runs.interpreter))
    res.interpreter = {"python_bare": bare, "agent_imports": imports["ms"], "import_share": imports["share"]}
    res.phone_calls = step("phone -> phone calls", lambda: calls.phone_to_phone(lab, runs.calls))
    res.phone_baresip_calls = step("phone -> baresip calls", lambda: calls.phone_to_baresip(lab, runs.calls))
    res.baresip_calls = step("baresip -> baresip calls", lambda: calls.baresip_to_baresip(lab, runs.calls))
    for ptime in (20, 10):
        res.phone_rtt[str(ptime)] = step(
            f"phone round trip ptime {ptime}", partial(roundtrip.phone, lab, runs.rtt, ptime)
        )
        res.baresip_rtt[str(ptime)] = step(
            f"baresip round trip ptime {ptime}", partial(roundtrip.baresip, lab, runs.rtt, ptime)
        )
    res.phone_rtt["10-tuned"] = step(
        "phone round trip ptime 10, tuned jitter buffer",
        lambda: roundtrip.phone(lab, runs.rtt, 10, TUNED_JITTER),
    )
    res.idle = step(f"idle CPU over {runs.idle_s} s", lambda: resources.idle(lab, runs.idle_s))
    res.roster_rss = step(
        "RSS logged into Prosody, 1 and 1,000 contacts", lambda: roster.measure(lab, runs.roster)
    )
    res.soak = step(f"{runs.soak_calls} consecutive calls", lambda: soak.measure(lab, runs.soak_calls))


def _invite_to_frame(contacts: tuple[Contact, ...], runs: int) -> list[float]:
    return asyncio.run(cusax.invite_to_frame(contacts, runs))


def run_cusax(runs: Runs, res: Results) -> None:
    """5c/5d (in-process, both roster sizes) and 8e (state memory, tracemalloc)."""
    for size in ROSTER_SIZES:
        contacts = cusax.contacts(size)
        frame = step(
            f"INVITE -> verified caller drawn, {size:,} contacts",
            partial(_invite_to_frame, contacts, runs.cusax),
        )
        index_bytes, _ = cusax.index_memory(contacts)
        res.cusax[str(size)] = {"frame": frame, "index_kib": [index_bytes / 1024]}
    res.state_memory = {str(n): [float(cusax.state_memory(n))] for n in (0, 1_000)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few repetitions, do not write the docs")
    parser.add_argument("--keep", action="store_true", help="keep the lab's workdir (logs, WAVs)")
    parser.add_argument(
        "--soak-calls", type=int, metavar="N", help="consecutive calls for the RSS growth (default 200)"
    )
    args = parser.parse_args()
    runs = QUICK if args.quick else Runs()
    if args.soak_calls:
        runs = replace(runs, soak_calls=args.soak_calls)
    started = time.monotonic()
    load_at_start = report.load_average()
    res = Results()
    res.inprocess = step("in-process latencies", lambda: inprocess.measure(runs.inprocess))
    run_cusax(runs, res)
    res.provisioning = step("provisioning poll cost", lambda: provisioning.poll_cost(runs.polls))
    res.provisioning += step(
        "reprovision trigger -> applied", lambda: provisioning.trigger_to_registered(runs.reprovision)
    )
    workdir = Path(tempfile.mkdtemp(prefix="deskphone-bench-"))
    try:
        with BenchLab(workdir) as lab:
            run_lab(lab, runs, res)
    finally:
        if args.keep:
            print(f"[bench] lab files kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    seconds = time.monotonic() - started
    info = report.machine()
    info["load average (1/5/15 min), start -> end of the run"] = f"{load_at_start} -> {report.load_average()}"
    figures = build(res)
    print(
        f"## Machine\n\n{report.machine_markdown(info)}\n\n## Results\n\n{report.results_markdown(figures)}"
    )
    if not args.quick:
        images = {
            "Latencies, phone vs baresip": plots.latency(figures, LATENCY_PNG),
            "Process memory, phone vs baresip": plots.memory(figures, MEMORY_PNG),
            "RSS over consecutive calls": plots.rss(res.soak, RSS_PNG),
        }
        report.write_docs(DOCS, info, figures, seconds, images)
        print(f"[bench] wrote {DOCS} ({seconds:.0f} s in all)", file=sys.stderr)


if __name__ == "__main__":
    main()
