"""Hostile corpus, one case at a time: how long from a hostile object to its failure?

Issue 13 asks that each hostile case "ends in a failure on its object within 1 s". The live
corpus test (``tests/reliability/test_hostile_live.py``) applies every case at once, so its
times are those of a flood (84 namespaces, hundreds of watches, one translation batching many
cases). This measures each case **alone**, against an otherwise quiet controller:

* one real control plane (etcd + kube-apiserver), FakeKong in this process, and the controller
  in its own process (as the live test: a case that crashes or stalls the interpreter must not
  take the benchmark with it), watching every namespace, ``--proxy-sync-seconds 0.2`` as the
  live test, everything else default (``--sync-debounce 0.02``, ``--sync-max-delay 0.25``);
* per live case of ``tests/reliability/corpus/hostile.yaml``, in turn: a fresh namespace with
  the corpus's baseline (Service + EndpointSlice + Ingress), wait until FakeKong serves the
  baseline and no push came for 0.3 s, then create the case's objects; the time is from the
  API server's answer to the case's last create to the arrival of its Warning Event on a watch
  of all Events (the live test's ``_one_case`` and ``_watch_events``, reused as they are; for
  the two CA cases that want no failure, to FakeKong holding the clean CA). The case's objects
  are then deleted (no kube-controller-manager here, so deleting the namespace would not) so
  their failures are not re-emitted by the next case's translations.
* per case, the controller's own counters before and after (translations and their ms, pushes):
  where a slow case's time went. ``/healthz`` is polled every 0.2 s throughout.

Cases the API server refuses (``live: {refused: ...}``) are applied but have no latency.

Usage: ``python benchmarks/hostile_latency.py`` (a few minutes). Prints the per-case table and
p50/p95/p99/max; writes ``benchmarks/results/hostile_latency.json`` and ``hostile_case_p50_ms``
/ ``hostile_case_p99_ms`` into ``benchmarks/results/summary.json``.
"""

from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import trio

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "reliability"))

import _hostile as H  # noqa: E402
from _harness import (  # noqa: E402 (needs psutil: the bench extra)
    APISERVER_ARGS,
    RESULTS,
    machine,
    summary_stats,
    wait_quiet,
    write_json,
)
from test_hostile_live import (  # noqa: E402 (the live runner's per-case machinery)
    CASE_BUDGET_S,
    LIVE_CASES,
    Outcome,
    Run,
    _free_port,
    _one_case,
    _poll_health,
    _scrape,
    _watch_events,
)

from kic_trio.testing import FakeKong, apply  # noqa: E402
from kic_trio.testing._apply import collection_path  # noqa: E402
from kic_trio.testing.controlplane import ControlPlane  # noqa: E402

_TN = "ingress_controller_translation_duration_milliseconds_count"
_TS = "ingress_controller_translation_duration_milliseconds_sum"
_PN = "ingress_controller_configuration_push_duration_milliseconds_count"


async def _case(
    admin: httpx.AsyncClient,
    kong: FakeKong,
    run: Run,
    ns: str,
    case: dict[str, Any],
    metrics_port: int,
) -> dict[str, Any]:
    r = await admin.post("/api/v1/namespaces", json={"metadata": {"name": ns}})
    r.raise_for_status()
    await apply(admin, H.baseline(ns), namespace=ns)
    host = H.baseline_host(ns)
    with trio.fail_after(60):
        await kong.wait_for(lambda k: host in H.hosts_in(k.config))
    await wait_quiet(kong, 0.3, 10)
    before = await _scrape(metrics_port)
    # the slowest /healthz answer while this case is in flight (the poller keeps a max)
    healthz_max, run.healthz_max_s = run.healthz_max_s, 0.0
    run.outcomes[case["id"]] = Outcome(case["id"], ns)
    await _one_case(admin, kong, ns, case, run, trio.CapacityLimiter(1))
    after = await _scrape(metrics_port)
    out = run.outcomes[case["id"]]
    case_healthz_s, run.healthz_max_s = run.healthz_max_s, max(healthz_max, run.healthz_max_s)
    for obj in reversed(case["objects"]):
        kind, name = obj["kind"], obj["metadata"]["name"]
        path = collection_path(kind, None if kind in H.CLUSTER_SCOPED else ns)
        await admin.delete(f"{path}/{name}")
    unserved = (case.get("expect") or {}).get("unserved")
    if unserved and unserved in H.hosts_in(kong.config):
        out.problems.append(f"{unserved} is served (fail open)")
    if host not in H.hosts_in(kong.config):
        out.problems.append("the baseline is no longer served")
    ttf = out.time_to_failure_s
    return {
        "id": case["id"],
        "kind": case.get("kind"),
        "ms": None if ttf is None else round(ttf * 1000, 1),
        "apply_ms": round(out.apply_s * 1000, 1),
        "refused": out.refusal is not None and "refused" in (case.get("live") or {}),
        "translations": after.get(_TN, 0) - before.get(_TN, 0),
        "translation_ms": round(after.get(_TS, 0) - before.get(_TS, 0), 1),
        "pushes": after.get(_PN, 0) - before.get(_PN, 0),
        "healthz_max_ms": round(case_healthz_s * 1000, 1),
        "problems": out.problems,
    }


async def bench(log_path: Path, only: set[str] | None) -> dict[str, Any]:
    cases = [c for c in LIVE_CASES if only is None or c["id"] in only]
    token = secrets.token_hex(2)
    probe_port, metrics_port = _free_port(), _free_port()
    rows: list[dict[str, Any]] = []
    run = Run()
    async with (
        ControlPlane(apiserver_args=APISERVER_ARGS) as cp,
        cp.admin_client(timeout=60.0) as admin,
        FakeKong() as kong,
    ):
        argv = [
            sys.executable, "-m", "kic_trio", "run",
            "--kubeconfig", str(cp.kubeconfig),
            "--kong-admin-url", kong.url,
            "--health-probe-bind-address", f"127.0.0.1:{probe_port}",
            "--metrics-bind-address", f"127.0.0.1:{metrics_port}",
            "--proxy-sync-seconds", "0.2",
            "--log-level", "info",
        ]  # fmt: skip
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("wb") as log:
            proc = await trio.lowlevel.open_process(argv, stdout=subprocess.DEVNULL, stderr=log)
        try:
            with trio.fail_after(60):
                await kong.wait_for(lambda k: bool(k.config_posts()))
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_poll_health, run, proc, probe_port)
                await nursery.start(_watch_events, cp, run)
                for i, generic in enumerate(cases):
                    ns = f"hl-{token}-{i}"
                    case = next(c for c in H.load_cases(ns) if c["id"] == generic["id"])
                    row = await _case(admin, kong, run, ns, case, metrics_port)
                    rows.append(row)
                    shown = "refused" if row["refused"] else row["ms"]
                    print(f"  {row['id']:45} {shown!s:>9}", file=sys.stderr, flush=True)
                nursery.cancel_scope.cancel()
            metrics = await _scrape(metrics_port)
        finally:
            exit_code = proc.returncode
            if proc.returncode is None:
                proc.kill()
                with trio.move_on_after(5) as cs:
                    cs.shield = True
                    await proc.wait()
    timed = [r["ms"] for r in rows if r["ms"] is not None]
    return {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "setup": {
            "proxy_sync_seconds": 0.2,
            "quiet_before_case_s": 0.3,
            "measured": "last create answered -> Warning Event on a watch (or clean CA in Kong)",
        },
        "cases": rows,
        "stats": summary_stats(timed),
        "budget_ms": CASE_BUDGET_S * 1000,
        "over_budget": [r["id"] for r in rows if r["ms"] is not None and r["ms"] > 1000],
        "refused": sum(1 for r in rows if r["refused"]),
        "failed": {r["id"]: r["problems"] for r in rows if r["problems"]},
        "controller_exit": exit_code,
        "healthz_ok": run.healthz_ok,
        "healthz_failed": len(run.healthz_failed),
        "healthz_max_ms": round(run.healthz_max_s * 1000, 1),
        "controller_metrics": metrics,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", help="comma-separated case ids (default: every live case)")
    args = p.parse_args()
    only = set(args.cases.split(",")) if args.cases else None
    data = trio.run(bench, RESULTS / "logs" / "hostile_latency.log", only)
    print(
        "| case | kind | ms | translations | translation ms | pushes | /healthz max ms | problems |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for r in data["cases"]:
        ms = "refused" if r["refused"] else ("-" if r["ms"] is None else f"{r['ms']:.1f}")
        print(
            f"| {r['id']} | {r['kind']} | {ms} | {r['translations']:.0f} | "
            f"{r['translation_ms']:.1f} | {r['pushes']:.0f} | {r['healthz_max_ms']} | {'; '.join(r['problems'])[:80]} |"
        )
    s = data["stats"]
    print(
        f"\n{s['n']} timed cases ({data['refused']} refused by the API server): "
        f"p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms, p99 {s['p99_ms']} ms, max {s['max_ms']} ms; "
        f"{len(data['over_budget'])} over 1 s {data['over_budget']}; "
        f"{len(data['failed'])} with problems; controller exit {data['controller_exit']}, "
        f"/healthz failures {data['healthz_failed']} (max {data['healthz_max_ms']} ms)"
    )
    if only is not None:
        print("(a subset: results not written)")
        return
    path = write_json("hostile_latency.json", data)
    summary_path = RESULTS / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    summary["hostile_case_p50_ms"] = s["p50_ms"]
    summary["hostile_case_p99_ms"] = s["p99_ms"]
    summary_path.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"written to {path} and {summary_path}")


if __name__ == "__main__":
    main()
