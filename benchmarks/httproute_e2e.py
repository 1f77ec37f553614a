"""HTTPRoute end to end: one HTTPRoute edited through kube-apiserver -> its change in Kong.

    python benchmarks/httproute_e2e.py --sets 1000 --samples 30
    python benchmarks/httproute_e2e.py --sets 10000        # background sets written into etcd
    python benchmarks/httproute_e2e.py --sets 1000 --load api   # every object through the API

The sets of ``httproute_latency.py`` (Service, EndpointSlice, HTTPRoute with two rules) plus one
GatewayClass (managed: the Gateway's status is written here, as the component that provisions
Kong would) and its Gateway, created through kube-apiserver; the background sets are written
straight into etcd by default (``--load etcd``, as ``_harness.Cluster`` does for the Ingress
benchmarks: through the API, 30k creates at 10k sets take longer than our shared 2-core machine
gives them), and the probe HTTPRoute is then edited through the API like any other; the controller runs in its own
process (``python -m kic_trio run``, defaults: ``--proxy-sync-seconds=3``) against FakeKong. Each
sample waits until the last push is answered and its sync interval is over (an *isolated*
change), PUTs the probe HTTPRoute with a new path and times the API write -> the POST /config
that carries the new path. Prints a table; writes ``benchmarks/results/httproute_e2e.json``
(merged by N) and the controller's log under ``benchmarks/results/logs/``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import (
    APISERVER_ARGS,
    RESULTS,
    Cluster,
    ControlPlane,
    log,
    machine,
    mib,
    new_fakekong,
    start_controller,
    summary_stats,
    wait_config,
)
from _run import Options, isolate
from httproute_latency import GW, _gateway, _set

from kic_trio.testing._apply import object_path

PROBE = 0  # set 0's HTTPRoute is the probe


def _paths(config: dict[str, Any], route_prefix: str) -> set[str]:
    return {
        p
        for s in config.get("services", [])
        for r in s.get("routes", [])
        if r["name"].startswith(route_prefix)
        for p in r.get("paths", [])
    }


def _with_cluster_ip(obj: dict[str, Any], i: int) -> dict[str, Any]:
    """Objects written into etcd skip kube-apiserver's allocator: give each Service its own
    address in the /16 the benchmark's control plane serves (as ``_sets`` does)."""
    if obj["kind"] != "Service":
        return obj
    return {
        **obj,
        "spec": {**obj["spec"], "clusterIP": f"10.96.{(i + 16) // 256 % 256}.{(i + 16) % 256}"},
    }


async def _wait_routes(client: Any, n: int) -> None:
    """Until kube-apiserver serves all ``n`` HTTPRoutes (its watch cache caught up with etcd)."""
    with trio.fail_after(600):
        while True:
            r = await client.get(f"/apis/{GW}/v1/httproutes", params={"limit": 1})
            r.raise_for_status()
            meta = r.json()["metadata"]
            if len(r.json()["items"]) + int(meta.get("remainingItemCount") or 0) >= n:
                return
            await trio.sleep(0.5)


async def run(n: int, samples: int, load: str = "etcd") -> dict[str, Any]:
    async with (
        ControlPlane(apiserver_args=APISERVER_ARGS) as cp,
        cp.admin_client() as client,
    ):
        cluster = Cluster(cp, client, method="api")
        namespaces = sorted({o["metadata"]["namespace"] for i in range(n) for o in _set(i)[:1]})
        await cluster.create_many(
            [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
             for ns in ["gw", *namespaces]], 8,
        )  # fmt: skip
        gclass, gateway = _gateway()
        status = gateway.pop("status")
        await cluster.create(gclass)
        stored = (await cluster.create(gateway)).json()
        for cond in [*status["conditions"], *status["listeners"][0]["conditions"]]:
            cond.update(lastTransitionTime="2026-01-01T00:00:00Z", message="")
        stored["status"] = status  # managed class: "someone else" accepted the Gateway
        r = await client.put(object_path("Gateway", "kong", "gw") + "/status", json=stored)
        r.raise_for_status()
        log(f"loading {n} HTTPRoute sets ({'into etcd' if load == 'etcd' else 'through the API'})")
        t0 = trio.current_time()
        if load == "etcd":
            await cluster._put_etcd(_with_cluster_ip(o, i) for i in range(n) for o in _set(i))
            await _wait_routes(client, n)
        else:
            await cluster.create_many((o for i in range(n) for o in _set(i)), 32)
        load_s = trio.current_time() - t0
        probe = _set(PROBE)[2]
        ns, name = probe["metadata"]["namespace"], probe["metadata"]["name"]
        prefix = f"httproute.{ns}.{name}."
        async with new_fakekong(n, "auto") as kong:
            ctl = await start_controller(
                cp.kubeconfig, kong.url, RESULTS / "logs" / f"httproute-e2e-{n}.log"
            )
            try:
                with trio.fail_after(900):
                    first = await wait_config(kong, lambda c: "/api/" in _paths(c, prefix))
                startup_s = first.at - ctl.started_at
                log(f"controller serving N={n} after {startup_s:.1f}s")
                ms: list[float] = []
                for k in range(1, samples + 1):
                    await isolate(kong, Options().gap)
                    cur = await client.get(object_path("HTTPRoute", name, ns))
                    cur.raise_for_status()
                    body = cur.json()
                    body["spec"]["rules"][0]["matches"][0]["path"]["value"] = f"/v{k}"
                    t = trio.current_time()
                    r = await client.put(object_path("HTTPRoute", name, ns), json=body)
                    r.raise_for_status()
                    with trio.fail_after(60):
                        rec = await wait_config(kong, lambda c, k=k: f"/v{k}/" in _paths(c, prefix))
                    ms.append((rec.at - t) * 1000)
                rss = ctl.rss()
                hwm = ctl.hwm()
            finally:
                await ctl.stop()
    return {
        "httproutes": n,
        "load": load,
        "load_s": round(load_s, 1),
        "startup_s": round(startup_s, 1),
        "controller_rss_mib": mib(rss),
        "controller_peak_rss_mib": mib(hwm),
        "isolated_change": summary_stats(ms),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", default="1000")
    ap.add_argument("--samples", type=int, default=30)
    ap.add_argument("--load", choices=("etcd", "api"), default="etcd")
    args = ap.parse_args()
    rows = [trio.run(run, int(n), args.samples, args.load) for n in args.sets.split(",")]
    out = RESULTS / "httproute_e2e.json"
    old = json.loads(out.read_text()).get("runs", []) if out.exists() else []
    fresh = {r["httproutes"] for r in rows}
    rows = sorted([r for r in old if r["httproutes"] not in fresh] + rows,
                  key=lambda r: r["httproutes"])  # fmt: skip
    out.write_text(json.dumps({"benchmark": "httproute_e2e", "machine": machine(),
                               "runs": rows}, indent=2) + "\n")  # fmt: skip
    print("| HTTPRoutes | load s | start-up s | RSS MiB | change p50 ms | p99 ms | max ms |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        c = r["isolated_change"]
        print(
            f"| {r['httproutes']} | {r['load_s']} | {r['startup_s']} | "
            f"{r['controller_rss_mib']} | {c['p50_ms']} | {c['p99_ms']} | {c['max_ms']} |"
        )


if __name__ == "__main__":
    main()
