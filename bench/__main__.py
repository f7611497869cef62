"""Run every benchmark, print the figures as a Markdown table and write docs/benchmarks.md.

.venv/bin/python -m bench            # the full run (about 3 minutes on 2 cores)
.venv/bin/python -m bench --quick    # a smoke run with few repetitions; docs untouched
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

from bench import calls, inprocess, report, resources, roundtrip, startup
from bench.figures import Results, build
from bench.lab import BenchLab

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
T = TypeVar("T")


@dataclass(frozen=True)
class Runs:
    inprocess: int = 200
    startup: int = 8
    interpreter: int = 5
    calls: int = 10
    rtt: int = 6
    idle_s: int = 10


QUICK = Runs(inprocess=30, startup=2, interpreter=2, calls=2, rtt=2, idle_s=3)
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


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few repetitions, do not write the docs")
    parser.add_argument("--keep", action="store_true", help="keep the lab's workdir (logs, WAVs)")
    args = parser.parse_args()
    runs = QUICK if args.quick else Runs()
    started = time.monotonic()
    load_at_start = report.load_average()
    res = Results()
    res.inprocess = step("in-process latencies", lambda: inprocess.measure(runs.inprocess))
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
        report.write_docs(DOCS, info, figures, seconds)
        print(f"[bench] wrote {DOCS} ({seconds:.0f} s in all)", file=sys.stderr)


if __name__ == "__main__":
    main()
