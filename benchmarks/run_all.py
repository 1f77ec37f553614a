"""Every benchmark, then the report (what ``nox -s bench`` runs).

1. one pass over N on one control plane (``_run.bench``): start-up at every N, memory at
   ``--memory-sets``, latency samples and the burst at ``--e2e-sets``; the RSS split
   (``_store_size.py``); writes ``startup.json``, ``memory.json`` and ``e2e.json``;
2. the translator's benchmark (``translate.py``, owned by the translator) and the store memory
   benchmark (``store_memory.py``, owned by the watch layer), unless skipped;
3. ``report.py``: plots, the markdown table, ``summary.json``.

Usage: ``python benchmarks/run_all.py [--quick] [--e2e-sets 0,1000,10000]
[--memory-sets 1000,10000,20000] [--skip translate,store_memory]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import trio

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _harness import log, parse_sets  # noqa: E402
from _run import Options, add_store_split, bench, save_parts  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: tiny N, few samples")
    ap.add_argument("--e2e-sets", default="0,1000,10000")
    ap.add_argument("--memory-sets", default="1000,10000,20000")
    ap.add_argument("--cycles", type=int, default=50)
    ap.add_argument("--burst", type=int, default=500)
    ap.add_argument("--validate", choices=("on", "off", "auto"), default="auto")
    ap.add_argument(
        "--profile", action="store_true", help="also profile the controller (pyinstrument)"
    )
    ap.add_argument("--profile-sets", default="", help="profile only at these N (default: every N)")
    ap.add_argument("--skip", default="", help="comma-separated: pipeline, translate, store_memory")
    args = ap.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if args.quick:
        args.e2e_sets, args.memory_sets = "0,100", "100"
        args.cycles, args.burst = 3, 50

    if "pipeline" not in skip:
        plan: dict[int, set[str]] = {}
        for n in parse_sets(args.e2e_sets):
            plan.setdefault(n, set()).update({"e2e", "burst", "memory"})
        for n in parse_sets(args.memory_sets):
            plan.setdefault(n, set()).add("memory")
        opts = Options(
            cycles=args.cycles,
            burst=args.burst,
            validate=args.validate,
            profile=args.profile or bool(args.profile_sets),
            profile_sets=frozenset(parse_sets(args.profile_sets)) if args.profile_sets else None,
        )
        data = trio.run(bench, {n: frozenset(f) for n, f in plan.items()}, opts)
        add_store_split(data["runs"])
        data["quick"] = args.quick
        save_parts(data)

    py = sys.executable
    if "translate" not in skip and (HERE / "translate.py").exists():
        log("translator benchmark")
        cmd = [py, str(HERE / "translate.py")]
        if args.quick:
            cmd += ["--sizes", "1000"]
        subprocess.run(cmd, check=False)
    if "store_memory" not in skip and (HERE / "store_memory.py").exists():
        log("store memory benchmark")
        cmd = [py, str(HERE / "store_memory.py")]
        if args.quick:
            cmd += ["--sets", "1000"]
        subprocess.run(cmd, check=False)
    subprocess.run([py, str(HERE / "report.py")], check=True)


if __name__ == "__main__":
    main()
