"""Memory: steady-state RSS of the controller process with N sets, split into store and the rest.

The controller runs in its own process (``python -m kic_trio run``) against a real
kube-apiserver holding N sets; once it has pushed the full config and no push arrived for 3 s,
its RSS is read 5 times, 1 s apart (median reported), with its peak (``VmHWM``). The split
comes from ``_store_size.py``: ``tracemalloc`` of a Store loaded with the same objects and of
a Translator after one full translation (the store_memory benchmark's method).

Usage: ``python benchmarks/memory.py [--sets 1000,10000,20000] [--quick]``; writes
``benchmarks/results/memory.json`` (merged by N with earlier runs) and prints a table.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import RESULTS, parse_sets
from _run import add_store_split, bench, options, parse_args, save_parts


def table(data: dict[str, Any]) -> str:
    rows = [
        "| sets | RSS MiB | peak MiB | store MiB | translator MiB | rest MiB | push MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in data["runs"]:
        m = run.get("memory")
        if not m:
            continue
        rows.append(
            f"| {run['sets']} | {m['rss_mib']} | {m['peak_rss_mib']} | {m.get('store_mib', '')} | "
            f"{m.get('translator_mib', '')} | {m.get('rest_mib', '')} | {run['push']['body_mib']} |"
        )
    return "\n".join(rows)


def main() -> None:
    args = parse_args(__doc__ or "", "1000,10000,20000", {"memory"})
    sets = parse_sets(args.sets)
    data = trio.run(bench, dict.fromkeys(sets, frozenset({"memory"})), options(args))
    add_store_split(data["runs"])
    if args.profile_only:
        print(data["runs"])
        return
    data["quick"] = bool(args.quick)
    save_parts(data)
    path = RESULTS / ("quick" if args.quick else "") / "memory.json"
    data = json.loads(path.read_text())
    print(table(data))
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
