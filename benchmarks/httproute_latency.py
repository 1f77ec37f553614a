"""HTTPRoute benchmark: N HTTPRoutes behind one Gateway, full translation and one-route changes.

    python benchmarks/httproute_latency.py --sizes 1000     # then --sizes 10000 (own process)
    python benchmarks/httproute_latency.py --sizes 1000 --changes 50

Each set is a Service with 3 ready endpoints and an HTTPRoute (parentRef: one
Gateway of our managed GatewayClass, accepted and its listener Programmed in status) with two rules: a PathPrefix
match with a RequestHeaderModifier filter, and a header match. Measured in the translator,
with the controller's attachment (``gateway_attachment=True``), for both router flavors:

* full translation of the N routes (wall and CPU seconds), and the process's peak RSS
  (the first flavor's figure is the one to read: the second runs in the same process);
* ``--changes`` isolated HTTPRoute changes (one route's header filter value edited: its Kong
  route and service are rebuilt, its priority stays), each an incremental
  translation of the snapshot with that one change: p50/p99/max in ms. This is the
  translator's share of the end-to-end latency (watch -> debounce -> translate -> push); the
  end-to-end figure through kube-apiserver needs the Gateway status stage, measured by
  ``benchmarks/e2e.py`` once Gateway API objects are in its sets.

Not measured here: an edit that changes a route's expressions *base* priority (path or host
length, match kinds) moves it between groups of equal priority, and upstream's relative-order
bits (``4095 - rank``) then shift for every later route of both groups, whose Kong services are
re-serialised (at 1k routes on one host length: ~80 ms p50 instead of ~5 ms).

Prints a table and writes ``benchmarks/results/httproute_latency.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import time
from pathlib import Path
from typing import Any

from kic_trio._deltas import Upsert
from kic_trio.models import parse
from kic_trio.store import Store
from kic_trio.translator import Translator, TranslatorOptions

HERE = Path(__file__).resolve().parent
GW = "gateway.networking.k8s.io"
NS_SIZE = 100


def _programmed(gen: int = 1) -> dict[str, Any]:
    return {"type": "Programmed", "status": "True", "reason": "Programmed",
            "observedGeneration": gen}  # fmt: skip


def _accepted(gen: int = 1) -> dict[str, Any]:
    return {"type": "Accepted", "status": "True", "reason": "Accepted",
            "observedGeneration": gen}  # fmt: skip


def _gateway() -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": f"{GW}/v1",
            "kind": "GatewayClass",
            "metadata": {"name": "kong"},  # managed: Gateway status as another component wrote it
            "spec": {"controllerName": "konghq.com/kic-gateway-controller"},
        },
        {
            "apiVersion": f"{GW}/v1",
            "kind": "Gateway",
            "metadata": {"name": "kong", "namespace": "gw", "generation": 1},
            "spec": {
                "gatewayClassName": "kong",
                "listeners": [{"name": "http", "port": 80, "protocol": "HTTP",
                               "allowedRoutes": {"namespaces": {"from": "All"}}}],
            },
            "status": {
                "conditions": [_accepted(), _programmed()],
                "listeners": [{"name": "http", "attachedRoutes": 0,
                               "supportedKinds": [{"group": GW, "kind": "HTTPRoute"}],
                               "conditions": [_programmed()]}],
            },
        },
    ]  # fmt: skip


def _set(i: int, version: int = 0) -> list[dict[str, Any]]:
    ns, name = f"ns{i // NS_SIZE}", f"app{i}"
    ips = [f"10.{(3 * i + k) // 65536 % 256}.{(3 * i + k) // 256 % 256}.{(3 * i + k) % 256}"
           for k in range(3)]  # fmt: skip
    backend = [{"name": name, "kind": "Service", "port": 80}]
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "uid": f"s-{i}"},
            "spec": {"ports": [{"name": "http", "port": 80}]},
        },
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {"name": f"{name}-1", "namespace": ns,
                         "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
            "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in ips],
        },
        {
            "apiVersion": f"{GW}/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": name, "namespace": ns, "uid": f"r-{i}", "generation": 1 + version,
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {
                "parentRefs": [{"name": "kong", "namespace": "gw"}],
                "hostnames": [f"{name}.example.com"],
                "rules": [
                    {
                        "matches": [{"path": {"type": "PathPrefix", "value": "/api"}}],
                        "filters": [{"type": "RequestHeaderModifier",
                                     "requestHeaderModifier": {"set": [{"name": "X-App",
                                                                        "value": f"{name}-v{version}"}]}}],
                        "backendRefs": backend,
                    },
                    {
                        "matches": [{"headers": [{"name": "X-Beta", "value": "1"}]}],
                        "backendRefs": backend,
                    },
                ],
            },
        },
    ]  # fmt: skip


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def run(n: int, flavor: str, changes: int) -> dict[str, Any]:
    store = Store()
    for obj in _gateway():
        store.apply(Upsert(obj["kind"], parse(obj["kind"], obj)))
    for i in range(n):
        for obj in _set(i):
            store.apply(Upsert(obj["kind"], parse(obj["kind"], obj)))
    store.take_changes()
    opts = TranslatorOptions(router_flavor=flavor)
    gc.collect()
    gc.disable()
    w, c = time.perf_counter(), time.process_time()
    tr = Translator(opts)
    result = tr.translate(store.snapshot())
    full_wall, full_cpu = time.perf_counter() - w, time.process_time() - c
    gc.enable()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # peak, KiB on Linux
    routes = sum(len(s.get("routes", [])) for s in result.config.get("services", []))
    if routes != 2 * n:
        raise SystemExit(f"expected {2 * n} Kong routes, got {routes}: the routes did not attach")
    lat: list[float] = []
    for k in range(changes):
        i = (k * 7919) % n
        route = _set(i, version=k + 1)[2]
        store.apply(Upsert("HTTPRoute", parse("HTTPRoute", route)))
        w = time.perf_counter()
        out = tr.translate(store.snapshot(), store.take_changes())
        _ = out.body, out.sha
        lat.append((time.perf_counter() - w) * 1000)
    return {
        "httproutes": n,
        "router_flavor": flavor,
        "kong_routes": routes,
        "body_mb": round(len(result.body) / 1e6, 2),
        "full_wall_s": round(full_wall, 3),
        "full_cpu_s": round(full_cpu, 3),
        "peak_rss_mib": round(rss / 2**20, 1),
        "one_route_change_ms": {
            "n": len(lat),
            "p50": round(statistics.median(lat), 2),
            "p99": round(_pct(lat, 99), 2),
            "max": round(max(lat), 2),
        },
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| HTTPRoutes | flavor | Kong routes | body MB | full wall s | full CPU s | peak RSS MiB "
        "| change p50 ms | p99 ms | max ms |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ch = r["one_route_change_ms"]
        lines.append(
            f"| {r['httproutes']} | {r['router_flavor']} | {r['kong_routes']} | {r['body_mb']} "
            f"| {r['full_wall_s']} | {r['full_cpu_s']} | {r['peak_rss_mib']} | {ch['p50']} "
            f"| {ch['p99']} | {ch['max']} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--flavors", default="traditional_compatible,expressions")
    ap.add_argument("--changes", type=int, default=100)
    args = ap.parse_args()
    rows = [
        run(int(n), flavor, args.changes)
        for n in args.sizes.split(",")
        for flavor in args.flavors.split(",")
    ]
    out = HERE / "results" / "httproute_latency.json"
    out.parent.mkdir(exist_ok=True)
    if out.exists():  # merge by (N, flavor): run each N in its own process for its own RSS
        fresh = {(r["httproutes"], r["router_flavor"]) for r in rows}
        old = json.loads(out.read_text()).get("runs", [])
        rows = [r for r in old if (r["httproutes"], r["router_flavor"]) not in fresh] + rows
        rows.sort(key=lambda r: (r["httproutes"], r["router_flavor"]))
    print(table(rows))
    out.write_text(
        json.dumps(
            {"benchmark": "httproute_latency", "note": "translator only (see docstring)",
             "runs": rows}, indent=2
        ) + "\n"
    )  # fmt: skip


if __name__ == "__main__":
    main()
