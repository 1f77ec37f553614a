"""Embedded start and clean shutdown: ``nursery.start(kic_trio.run)`` → ready → cancel → returned.

The controller runs in this process (as an embedding app runs it) against a real kube-apiserver
and FakeKong, with a small cluster. Reported per run: time until ``nursery.start`` returned the
handle, until ``wait_ready()`` (caches synced and the first push applied), and from cancelling
the scope to ``run()`` having returned with every task, socket and subprocess gone.
The target (issue 2) is a shutdown under 1 s.

Usage: ``python benchmarks/shutdown.py [--runs 10]``; writes ``benchmarks/results/shutdown.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import trio

import kic_trio
from kic_trio.testing import FakeKong, apply
from kic_trio.testing.controlplane import ControlPlane

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from k8s_objects import app

RESULTS = Path(__file__).resolve().parent / "results"


async def measure(runs: int) -> list[dict[str, float]]:
    out: list[dict[str, float]] = []
    async with ControlPlane() as cp, FakeKong() as kong:
        async with cp.admin_client() as client:
            await client.post("/api/v1/namespaces", json={"metadata": {"name": "bench"}})
            for i in range(20):
                await apply(client, app(f"app{i}", f"app{i}.example.com"), namespace="bench")
        cfg = kic_trio.Config(
            kubeconfig=str(cp.kubeconfig),
            kong_admin_url=[kong.url],
            update_status=False,
            health_probe_bind_address="127.0.0.1:0",
            metrics_bind_address="127.0.0.1:0",
        )
        for _ in range(runs):
            t0 = time.perf_counter()
            async with trio.open_nursery() as nursery:
                controller = await nursery.start(kic_trio.run, cfg)
                t_started = time.perf_counter()
                await controller.wait_ready()
                t_ready = time.perf_counter()
                nursery.cancel_scope.cancel()
                t_cancel = time.perf_counter()
            t_done = time.perf_counter()
            out.append(
                {
                    "started_ms": round((t_started - t0) * 1000, 1),
                    "ready_ms": round((t_ready - t0) * 1000, 1),
                    "shutdown_ms": round((t_done - t_cancel) * 1000, 1),
                }
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    rows = trio.run(measure, args.runs)
    summary: dict[str, Any] = {}
    for key in ("started_ms", "ready_ms", "shutdown_ms"):
        values = [r[key] for r in rows]
        summary[key] = {"median": statistics.median(values), "max": max(values)}
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "shutdown.json"
    path.write_text(json.dumps({"runs": rows, "summary": summary}, indent=2) + "\n")
    print("| what | median ms | max ms |\n|---|---:|---:|")
    for key, label in (("started_ms", "nursery.start returned"), ("ready_ms", "ready (first push)"), ("shutdown_ms", "cancel → run() returned")):
        print(f"| {label} | {summary[key]['median']} | {summary[key]['max']} |")
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
