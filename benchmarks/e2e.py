"""End-to-end latency: API write -> Kong holds a config reflecting it, with N sets loaded.

A real kube-apiserver + etcd, the controller in its own process (``python -m kic_trio run``,
default ``proxy_sync_seconds`` = 3), FakeKong in this process. For each N, 50 isolated
create / update / delete samples of one Ingress (p50/p95/p99 from just before the write is
sent to the arrival of the first ``POST /config`` reflecting it), then a burst of 500
Ingresses. See benchmarks/README.md.

Usage: ``python benchmarks/e2e.py [--sets 0,1000,10000] [--quick]``; writes
``benchmarks/results/e2e.json`` (merged by N with earlier runs) and prints a table.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import RESULTS, parse_sets
from _run import bench, options, parse_args, save_parts


def table(data: dict[str, Any]) -> str:
    rows = [
        "| sets | op | p50 ms | p95 ms | p99 ms | max ms | extra pushes | push MiB |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for run in data["runs"]:
        e2e = run.get("e2e")
        if not e2e:
            continue
        for op in ("create", "update", "delete", "all"):
            s = e2e[op]
            rows.append(
                f"| {run['sets']} | {op} | {s['p50_ms']} | {s['p95_ms']} | {s['p99_ms']} | "
                f"{s['max_ms']} | {s.get('extra_pushes', '')} | {run['push']['body_mib']} |"
            )
    rows += [
        "",
        "| sets | burst | writes s | all live s | pushes | delete-all s | pushes |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in data["runs"]:
        b = run.get("burst")
        if b:
            rows.append(
                f"| {run['sets']} | {b['ingresses']} | {b['writes_s']} | {b['all_live_s']} | "
                f"{b['pushes']} | {b['delete_all_gone_s']} | {b['delete_pushes']} |"
            )
    return "\n".join(rows)


def main() -> None:
    args = parse_args(__doc__ or "", "0,1000,10000", {"e2e", "burst"})
    sets = parse_sets(args.sets)
    fams = frozenset({"e2e", "burst", "memory"})
    data = trio.run(bench, dict.fromkeys(sets, fams), options(args))
    if args.profile_only:
        print(data["runs"])
        return
    data["quick"] = bool(args.quick)
    save_parts(data)
    path = RESULTS / ("quick" if args.quick else "") / "e2e.json"
    data = json.loads(path.read_text())
    print(table(data))
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
