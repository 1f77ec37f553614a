"""Diagnostics benchmark: what ``--dump-config`` costs on the push path and per page view.

    python benchmarks/diagnostics.py                 # 1k sets
    python benchmarks/diagnostics.py --sets 1k,10k   # several sizes

Reported per size (median CPU time of 5; the machine is shared, so not wall time): recording one push (``Diagnostics.applied``: on the push
path, Trio thread), sanitizing the dump (``/debug/config/successful``; worker thread, only
when requested, then cached), building and rendering the HTML page (worker thread, cached),
and the sizes of the body, the sanitized dump and the page. Prints a table, writes
``results/diagnostics.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _sets  # noqa: E402

from kic_trio._deltas import Upsert  # noqa: E402
from kic_trio.diagnostics import (  # noqa: E402
    Diagnostics,
    build_objects,
    render_page,
    sanitize_config,
)
from kic_trio.models import parse  # noqa: E402
from kic_trio.store import Store  # noqa: E402
from kic_trio.translator import Translator  # noqa: E402


def _median_ms(fn: Any, runs: int = 5) -> tuple[float, Any]:
    """Median CPU milliseconds of ``fn`` (the machine is shared: wall time is noise)."""
    times, out = [], None
    for _ in range(runs):
        t = time.process_time()
        out = fn()
        times.append((time.process_time() - t) * 1000)
    return statistics.median(times), out


def run_one(n: int) -> dict[str, Any]:
    store = Store()
    certs = _sets.certificates(n)
    for i in range(n):
        for obj in _sets.make_set(i, certs[i]):
            store.apply(Upsert(obj["kind"], parse(obj["kind"], obj)))
    snap = store.snapshot()
    payload = Translator().translate(snap).to_payload()
    diag = Diagnostics()
    translated_ms, _ = _median_ms(lambda: diag.translated(payload, snap))
    t = time.perf_counter()
    for _ in range(1000):
        diag.applied("http://kong:8001", payload, 201)
    record_us = (time.perf_counter() - t) * 1000  # per call: 1000 calls, in µs
    rec = diag.last_successful["http://kong:8001"]
    sanitize_ms, dump = _median_ms(lambda: sanitize_config(rec.body, rec.secrets))

    def page() -> bytes:
        objects = build_objects(payload.body, payload.failures, [rec])
        return render_page(
            objects=objects,
            pushes=[rec],
            translation_sha=payload.sha,
            translation_at=time.time(),
            sensitive=False,
        )

    page_ms, html = _median_ms(page)
    return {
        "sets": n,
        "body_mb": len(payload.body) / 1e6,
        "record_push_us": record_us,
        "record_translation_ms": translated_ms,
        "sanitize_ms": sanitize_ms,
        "sanitized_mb": len(dump) / 1e6,
        "page_ms": page_ms,
        "page_mb": len(html) / 1e6,
    }


RESULTS = HERE / "results"


def _sizes(text: str) -> list[int]:
    return [int(float(x.replace("k", "e3"))) for x in text.split(",") if x.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sets", default="1k", help="comma-separated sizes (1k, 10k, ...)")
    args = ap.parse_args()
    runs = [run_one(n) for n in _sizes(args.sets)]
    cols = list(runs[0])
    print(" | ".join(f"{c:>22}" for c in cols))
    for r in runs:
        print(
            " | ".join(f"{r[c]:>22.3f}" if isinstance(r[c], float) else f"{r[c]:>22}" for c in cols)
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "diagnostics.json"
    machine = {"python": platform.python_version(), "cpus": os.cpu_count()}
    path.write_text(json.dumps({"machine": machine, "runs": runs}, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
