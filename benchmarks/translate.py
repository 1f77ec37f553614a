"""Translator benchmark: N synthetic sets -> full and one-change incremental translation.

    python benchmarks/translate.py                  # N = 1k, 5k, 10k, 20k (one subprocess each)
    python benchmarks/translate.py --sizes 10000    # just one size
    python benchmarks/translate.py --profile 10000  # pyinstrument profile of a full translation

Each size runs in its own process so peak RSS means something. Reported per size:

* parse: raw dicts -> models -> store (ingestion; paid once per object as it arrives);
* full: a fresh ``Translator`` on the whole snapshot, median of 5 (wall and CPU seconds);
* incremental: one EndpointSlice change (a pod restart) and one Ingress change on a warm
  ``Translator``, median of 15 each; the result is checked against a full translation;
* peak RSS of the process and the size of the JSON body.

Targets (issue 5, our 2-core machine): 10k sets <= 1.0 s full, <= 50 ms incremental. The
machine is shared, so wall times are noisy: CPU times are reported next to them.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _sets  # noqa: E402

from kic_trio._deltas import Upsert  # noqa: E402
from kic_trio.models import parse  # noqa: E402
from kic_trio.store import Store  # noqa: E402
from kic_trio.translator import Translator  # noqa: E402

SIZES = (1000, 5000, 10000, 20000)


def _timed(fn: Any) -> tuple[float, float, Any]:
    # The translator no longer pauses the cyclic GC itself (process-wide state; the controller
    # translates in a worker thread): pause it here as the standalone program does at start-up.
    was = gc.isenabled()
    gc.disable()
    try:
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        return time.perf_counter() - w, time.process_time() - c, out
    finally:
        if was:
            gc.enable()


def _ingress_variant(i: int, generation: int) -> dict[str, Any]:
    ing = next(o for o in _sets.make_set(i, _sets.certificates(i + 1)[i]) if o["kind"] == "Ingress")
    ing["metadata"]["resourceVersion"] = str(100 + generation)
    ing["metadata"]["annotations"]["konghq.com/strip-path"] = "true" if generation % 2 else "false"
    return ing


def _ingest(store: Store, certs: list[tuple[str, str]]) -> None:
    """Streamed like a watch: each set's raw dicts are dropped once parsed."""
    for i in range(len(certs)):
        for obj in _sets.make_set(i, certs[i]):
            store.apply(Upsert(obj["kind"], parse(obj["kind"], obj)))


def run_one(n: int) -> dict[str, Any]:
    store = Store()
    certs = _sets.certificates(n)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    parse_wall, parse_cpu, _ = _timed(lambda: _ingest(store, certs))
    rss_store = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    snap = store.snapshot()
    store.take_changes()

    fulls = []
    result = None
    for _ in range(5):
        wall, cpu, result = _timed(lambda: Translator().translate(snap))
        fulls.append((wall, cpu))
    assert result is not None
    size = len(result.body)
    failures = len(result.failures)

    warm = Translator()
    warm.translate(snap)
    incr: dict[str, list[tuple[float, float]]] = {"endpointslice": [], "ingress": []}
    for g in range(1, 16):
        i = (g * 7919) % n
        store.apply(Upsert("EndpointSlice", parse("EndpointSlice", _sets.endpoint_slice(i, g))))
        s = store.snapshot()
        changes = store.take_changes()
        wall, cpu, _ = _timed(lambda s=s, changes=changes: warm.translate(s, changes))
        incr["endpointslice"].append((wall, cpu))
        store.apply(Upsert("Ingress", parse("Ingress", _ingress_variant(i, g))))
        s = store.snapshot()
        changes = store.take_changes()
        wall, cpu, last = _timed(lambda s=s, changes=changes: warm.translate(s, changes))
        incr["ingress"].append((wall, cpu))
    check = Translator().translate(store.snapshot())
    assert check.body == last.body and check.sha == last.sha, "incremental != full"

    def med(samples: list[tuple[float, float]], k: int) -> float:
        return statistics.median(s[k] for s in samples)

    return {
        "sets": n,
        "objects": n * 7,
        "parse_wall_s": parse_wall,
        "parse_cpu_s": parse_cpu,
        "full_wall_s": med(fulls, 0),
        "full_cpu_s": med(fulls, 1),
        "incr_eps_wall_ms": med(incr["endpointslice"], 0) * 1000,
        "incr_eps_cpu_ms": med(incr["endpointslice"], 1) * 1000,
        "incr_ingress_wall_ms": med(incr["ingress"], 0) * 1000,
        "incr_ingress_cpu_ms": med(incr["ingress"], 1) * 1000,
        "rss_start_mb": rss_before,
        "rss_after_ingest_mb": rss_store,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "json_mb": size / 1e6,
        "failures": failures,
    }


def profile(n: int) -> None:
    from pyinstrument import Profiler

    raw = _sets.make_sets(n)
    store = Store()
    for obj in raw:
        store.apply(Upsert(obj["kind"], parse(obj["kind"], obj)))
    snap = store.snapshot()
    profiler = Profiler(interval=0.001)
    profiler.start()
    Translator().translate(snap)
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False))


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| sets | objects | parse s (cpu) | full s wall (cpu) | incr EndpointSlice ms wall (cpu) "
        "| incr Ingress ms wall (cpu) | RSS MB after ingest / peak | JSON MB |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for r in rows:
        lines.append(
            f"| {r['sets']} | {r['objects']} | {r['parse_wall_s']:.2f} ({r['parse_cpu_s']:.2f}) "
            f"| {r['full_wall_s']:.3f} ({r['full_cpu_s']:.3f}) "
            f"| {r['incr_eps_wall_ms']:.1f} ({r['incr_eps_cpu_ms']:.1f}) "
            f"| {r['incr_ingress_wall_ms']:.1f} ({r['incr_ingress_cpu_ms']:.1f}) "
            f"| {r['rss_after_ingest_mb']:.0f} / {r['peak_rss_mb']:.0f} | {r['json_mb']:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)
    p.add_argument("--profile", type=int, metavar="N")
    p.add_argument("--out", default=str(HERE / "results" / "translate.json"))
    args = p.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one)))
        return
    if args.profile:
        profile(args.profile)
        return
    _sets.certificates(max(args.sizes))  # generate/cached before timing
    rows = []
    for n in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(n)], check=True, capture_output=True, text=True
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"N={n} done", file=sys.stderr)
    text = table(rows)
    print(text)
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"rows": rows, "table": text}, indent=2) + "\n")


if __name__ == "__main__":
    main()
