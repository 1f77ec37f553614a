"""Expressions router benchmark: full translation of N synthetic sets, per router flavor.

    python benchmarks/expressions.py                 # N = 1000, 5000
    python benchmarks/expressions.py --sizes 2000

Builds the expression + priority of every Ingress route (``translator/_expressions.py``)
instead of paths/hosts: this shows what that costs next to the default flavor. Prints a
table and writes ``benchmarks/results/expressions.json``. Median of 3 full translations on a
fresh ``Translator`` each (wall and CPU seconds; the machine is shared, CPU is the steadier).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _sets  # noqa: E402

from kic_trio._deltas import Upsert  # noqa: E402
from kic_trio.models import parse  # noqa: E402
from kic_trio.store import Store  # noqa: E402
from kic_trio.translator import Translator, TranslatorOptions  # noqa: E402

FLAVORS = ("traditional_compatible", "expressions")


def run(n: int) -> list[dict[str, object]]:
    store = Store()
    certs = _sets.certificates(n)
    for i in range(n):
        for obj in _sets.make_set(i, certs[i]):
            store.apply(Upsert(obj["kind"], parse(obj["kind"], obj)))
    snap = store.snapshot()
    rows: list[dict[str, object]] = []
    for flavor in FLAVORS:
        opts = TranslatorOptions(router_flavor=flavor)
        walls, cpus, size = [], [], 0
        for _ in range(3):
            gc.disable()
            w, c = time.perf_counter(), time.process_time()
            result = Translator(opts).translate(snap)
            walls.append(time.perf_counter() - w)
            cpus.append(time.process_time() - c)
            gc.enable()
            size = len(result.body)
        rows.append(
            {
                "sets": n,
                "flavor": flavor,
                "full_wall_s": round(statistics.median(walls), 4),
                "full_cpu_s": round(statistics.median(cpus), 4),
                "body_bytes": size,
            }
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    args = ap.parse_args()
    rows = [row for n in args.sizes for row in run(n)]
    print(f"{'sets':>6} {'flavor':<24} {'wall s':>8} {'cpu s':>8} {'body MB':>8}")
    for r in rows:
        print(
            f"{r['sets']:>6} {r['flavor']!s:<24} {r['full_wall_s']:>8} {r['full_cpu_s']:>8} "
            f"{int(r['body_bytes']) / 1e6:>8.2f}"  # type: ignore[call-overload]
        )
    out = HERE / "results" / "expressions.json"
    out.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
