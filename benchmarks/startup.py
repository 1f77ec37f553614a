"""Start-up: from process start to the first successful push, with N sets already in the cluster.

The controller is spawned (``python -m kic_trio run``, so interpreter start and imports count)
against a real kube-apiserver already holding N sets; FakeKong stamps the arrival of each
``POST /config``. Reported: the first successful push (arrival and answer) and the first push
holding every set (the first one may be partial when listing outlasts
``--init-cache-sync-duration``, 5 s by default), and the controller's CPU seconds until then.

Usage: ``python benchmarks/startup.py [--sets 0,1000,10000,20000] [--quick]``; writes
``benchmarks/results/startup.json`` (merged by N with earlier runs) and prints a table.
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
        "| sets | first push s | first push answered s | complete push s | pushes until complete | controller CPU s | push MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in data["runs"]:
        s = run.get("startup")
        if not s:
            continue
        rows.append(
            f"| {run['sets']} | {s['first_push_s']} | {s['first_push_answered_s']} | "
            f"{s['complete_push_s']} | {s['pushes_until_complete']} | {s['controller_cpu_s']} | "
            f"{run['push']['body_mib']} |"
        )
    return "\n".join(rows)


def main() -> None:
    args = parse_args(__doc__ or "", "0,1000,10000,20000", {"startup"})
    sets = parse_sets(args.sets)
    data = trio.run(bench, dict.fromkeys(sets, frozenset({"startup"})), options(args))
    if args.profile_only:
        print(data["runs"])
        return
    data["quick"] = bool(args.quick)
    save_parts(data)
    path = RESULTS / ("quick" if args.quick else "") / "startup.json"
    data = json.loads(path.read_text())
    print(table(data))
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
