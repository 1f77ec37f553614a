"""Probe latency during start-up: is ``/healthz`` answered while the first translation runs?

Issue 13 asks that a 10k-set start-up never stops the controller answering its probes (a
kubelet restarts a controller whose liveness probe times out). With N sets already in a real
kube-apiserver, the controller is spawned (``python -m kic_trio run``) with a known probe port,
and a **separate prober process** sends ``GET /healthz`` every 20 ms from the moment the
controller starts (one at a time: a slow answer delays the next request, it never piles up).
Polling from another process keeps FakeKong's work (parsing a 30 MB body in this process)
out of the numbers. Reported (ms, request sent → answer read):

* ``translation`` — requests sent between the controller logging "caches synced" (the first
  translation starts right after) and the arrival of its first ``POST /config`` at FakeKong
  (the translation, serialisation and the connect are over by then): the window the issue
  is about;
* ``startup`` — every request from the first answered one until the complete config arrived
  (listing 70k objects, translating, pushing);
* ``timeouts`` (no answer within 5 s) and refused connections (before the server was up, not
  counted as latency).

``--baseline-src DIR`` runs a second controller from another source tree (``PYTHONPATH=DIR``;
e.g. a checkout of the commit before translations moved off the Trio thread) on the same
control plane, for a before/after pair.

Usage: ``python benchmarks/probe_latency.py [--sets 10000] [--baseline-src DIR]``; writes
``benchmarks/results/probe_latency.json`` (merged by N) and ``probe_p99_ms_<N>`` into
``results/summary.json``. At 10k it takes several minutes (loading the sets dominates).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import (
    APISERVER_ARGS,
    RESULTS,
    Cluster,
    config_posts,
    is_complete,
    log,
    machine,
    merge_by_sets,
    new_fakekong,
    parse_sets,
    start_controller,
    summary_stats,
    wait_answered,
    wait_config,
    write_json,
)

from kic_trio.testing.controlplane import ControlPlane

INTERVAL = 0.02
TIMEOUT = 5.0


# -- the prober (its own process) -------------------------------------------------------------


def prober(port: int, out: str) -> None:
    """GET /healthz every INTERVAL s; one JSON line per request: wall time sent, ms or error."""
    stop = False

    def on_term(*_: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    with open(out, "w", buffering=1) as f:
        next_at = time.monotonic()
        while not stop:
            sent_wall, t0 = time.time(), time.perf_counter()
            rec: dict[str, Any] = {"t": sent_wall}
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
                conn.request("GET", "/healthz")
                resp = conn.getresponse()
                resp.read()
                conn.close()
                rec["ms"] = (time.perf_counter() - t0) * 1000
                rec["status"] = resp.status
            except ConnectionRefusedError:
                rec["error"] = "refused"
            except TimeoutError:
                rec["error"] = "timeout"
            except OSError as exc:
                rec["error"] = type(exc).__name__
            f.write(json.dumps(rec) + "\n")
            next_at = max(next_at + INTERVAL, time.monotonic())
            time.sleep(max(0.0, next_at - time.monotonic()))


# -- the benchmark ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def one_run(
    cp: ControlPlane, n: int, label: str, env_src: str | None, logs: Path
) -> dict[str, Any]:
    port = free_port()
    samples_path = logs / f"probe-{n}-{label}.jsonl"
    logs.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - a local directory, once
    clock_offset = time.time() - trio.current_time()  # wall = trio + offset
    async with new_fakekong(n, "auto") as kong:
        env = None
        if env_src is not None:
            env = dict(os.environ, PYTHONPATH=env_src)
        log(f"N={n} [{label}]: starting the controller and the prober")
        ctl = await start_controller(
            cp.kubeconfig,
            kong.url,
            logs / f"controller-{n}-probe-{label}.log",
            extra=[f"--health-probe-bind-address=127.0.0.1:{port}"],
            env=env,
        )
        probe = await trio.lowlevel.open_process(
            [sys.executable, __file__, "--prober", str(port), str(samples_path)]
        )
        synced_at: float | None = None
        try:

            async def watch_log() -> None:
                nonlocal synced_at
                while synced_at is None:
                    if "caches synced" in ctl.log_path.read_text(errors="replace"):
                        synced_at = trio.current_time()
                        return
                    await trio.sleep(INTERVAL)

            with trio.fail_after(900):
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(watch_log)
                    complete = await wait_config(kong, lambda c: is_complete(c, n))
                    await wait_answered(kong, complete)
                    nursery.cancel_scope.cancel()
        finally:
            probe.send_signal(signal.SIGTERM)
            with trio.move_on_after(10):
                await probe.wait()
            if probe.returncode is None:
                probe.kill()
            await ctl.stop()
        posts = config_posts(kong)
        first_post = posts[0].at if posts else None
    t0 = ctl.started_at
    rows = [json.loads(line) for line in samples_path.read_text().splitlines() if line.strip()]
    for r in rows:
        r["at"] = r["t"] - clock_offset  # on this process's trio clock
    answered = [r for r in rows if "ms" in r]
    up_at = answered[0]["at"] if answered else None
    startup_rows = [r for r in rows if up_at is not None and up_at <= r["at"] <= complete.at]
    window = [
        r
        for r in rows
        if synced_at is not None and first_post is not None and synced_at <= r["at"] <= first_post
    ]

    def stats(rs: list[dict[str, Any]]) -> dict[str, Any]:
        return summary_stats([r["ms"] for r in rs if "ms" in r]) | {
            "timeouts": sum(1 for r in rs if r.get("error") == "timeout"),
            "errors": sum(1 for r in rs if "error" in r and r["error"] != "timeout"),
        }

    out = {
        "label": label,
        "source": env_src or "this tree",
        "probe_up_s": round(up_at - t0, 2) if up_at is not None else None,
        "caches_synced_s": round(synced_at - t0, 2) if synced_at is not None else None,
        "first_push_s": round(first_post - t0, 2) if first_post is not None else None,
        "complete_push_s": round(complete.at - t0, 2),
        "translation_window_s": (
            round(first_post - synced_at, 2) if synced_at and first_post else None
        ),
        "translation": stats(window),
        "startup": stats(startup_rows),
        "refused_before_up": sum(
            1 for r in rows if r.get("error") == "refused" and (up_at is None or r["at"] < up_at)
        ),
    }
    tr = out["translation"]
    log(
        f"N={n} [{label}]: during the first translation ({out['translation_window_s']}s) "
        f"/healthz p50 {tr['p50_ms']} p99 {tr['p99_ms']} max {tr['max_ms']} ms over {tr['n']} "
        f"requests, {tr['timeouts']} timeouts; complete push at {out['complete_push_s']}s"
    )
    return out


async def bench(sets: list[int], baseline: str | None) -> dict[str, Any]:
    logs = RESULTS / "logs"
    runs = []
    async with (
        ControlPlane(apiserver_args=APISERVER_ARGS) as cp,
        cp.admin_client(timeout=60.0) as client,
    ):
        cluster = Cluster(cp, client)
        await cluster.setup()
        for n in sorted(sets):
            await cluster.load_to(n)
            run: dict[str, Any] = {"sets": n, "probe": await one_run(cp, n, "current", None, logs)}
            if baseline:
                run["probe_baseline"] = await one_run(cp, n, "baseline", baseline, logs)
            runs.append(run)
    return {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "interval_ms": INTERVAL * 1000,
        "timeout_s": TIMEOUT,
        "runs": runs,
    }


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--prober":
        prober(int(sys.argv[2]), sys.argv[3])
        return
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--sets", default="10000")
    ap.add_argument("--baseline-src", default=None, help="another tree's src/ for a before run")
    ap.add_argument("--quick", action="store_true", help="smoke run at 100 sets, not saved")
    args = ap.parse_args()
    sets = [100] if args.quick else parse_sets(args.sets)
    data = trio.run(bench, sets, args.baseline_src)
    if args.quick:
        path = write_json("quick/probe_latency.json", data)
    else:
        # a run without --baseline-src keeps the baseline measured earlier at the same N
        old = RESULTS / "probe_latency.json"
        if old.exists():
            before = {r["sets"]: r for r in json.loads(old.read_text()).get("runs", [])}
            for run in data["runs"]:
                prev = before.get(run["sets"], {})
                if "probe_baseline" not in run and "probe_baseline" in prev:
                    run["probe_baseline"] = prev["probe_baseline"]
        path = write_json("probe_latency.json", merge_by_sets("probe_latency.json", data))
        summary_path = RESULTS / "summary.json"
        summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
        for run in data["runs"]:
            if run["sets"] == 10000:  # the summary's sizes are 10k
                summary["probe_p99_ms_10k"] = run["probe"]["translation"]["p99_ms"]
        summary_path.write_text(json.dumps(summary, indent=2) + "\n")
    for run in data["runs"]:
        print(json.dumps(run, indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
