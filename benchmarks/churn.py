"""Churn: does the controller's memory come back after 1,000 create/update/delete cycles?

A controller runs for months, and every change it sees must leave nothing behind. With N sets
already in the cluster and the controller settled (its steady RSS read as ``memory.py`` does),
one Ingress is created (and waited for at FakeKong), has its host changed and is deleted,
``--churn`` times (1,000 by default), with pushes at most every 0.2 s; every ``--churn-every`` cycles, once the config without it reached
FakeKong and no push came for 3 s, the controller's RSS is read. The last reading uses the
same quiet window as the first, so ``growth_pct`` (the target: at most +5 % at 10k sets) is
like for like. The cycles go through the API server: the watch, the store, the translator,
the status/event paths and the applier all see real churn.

Usage: ``python benchmarks/churn.py [--sets 1000] [--churn 1000] [--churn-every 100]
[--controller-cmd '...']``; writes ``benchmarks/results/churn.json`` (merged by N; at 10k it
also carries ``rss_growth_pct_after_churn_10k``) and prints the curve.

Attribution (what grows) is a job for ``tracemalloc`` in one process:
``tests/unit/test_churn_bookkeeping.py`` churns a Store and a Translator and checks every
index returns to its size.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import merge_by_sets, parse_sets, write_json
from _run import bench, options, parse_args


def table(data: dict[str, Any]) -> str:
    rows = [
        "| sets | cycles | RSS before MiB | after MiB | growth | peak MiB | pushes | CPU s | wall s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    curves = []
    for run in data["runs"]:
        c = run.get("churn")
        if not c:
            continue
        rows.append(
            f"| {run['sets']} | {c['cycles']} | {c['rss_before_mib']} | {c['rss_after_mib']} | "
            f"{c['growth_pct']:+.1f} % | {c['peak_rss_mib']} | {c['pushes']} | "
            f"{c['controller_cpu_s']} | {c['wall_s']} |"
        )
        curve = ", ".join(f"{p['cycles']}: {p['rss_mib']}" for p in c["curve"])
        curves.append(f"N={run['sets']} RSS MiB by cycles: {curve}")
    return "\n".join([*rows, "", *curves])


#: Pushes at most every 0.2 s: each cycle waits for its create to reach Kong, and 1,000 cycles
#: at the default 3 s interval would take ~50 min. Same value before and after, so the RSS
#: readings compare; a ``--controller-arg=--proxy-sync-seconds=...`` given later overrides it.
SYNC = "--proxy-sync-seconds=0.2"


def main() -> None:
    sys.argv[1:1] = [f"--controller-arg={SYNC}"]
    args = parse_args(__doc__ or "", "1000", {"churn"})
    sets = parse_sets(args.sets)
    data = trio.run(bench, dict.fromkeys(sets, frozenset({"churn"})), options(args))
    data["quick"] = bool(args.quick)
    data["runs"] = [r for r in data["runs"] if "churn" in r]
    if args.quick:
        path = write_json("quick/churn.json", data)
    else:
        merged = merge_by_sets("churn.json", data)
        for run in merged["runs"]:
            if run["sets"] == 10000:
                # the measure is after 1,000 cycles: a shorter run is kept by its count
                c = run["churn"]
                key = "rss_growth_pct_after_churn_10k"
                if c["cycles"] < 1000:
                    key = f"rss_growth_pct_after_{c['cycles']}_churn_10k"
                merged[key] = c["growth_pct"]
        path = write_json("churn.json", merged)
    print(table(json.loads(path.read_text())))
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
