"""GRPCRoute + TCPRoute translation benchmark: full translation, then isolated changes.

    python benchmarks/gw_l4grpc.py                  # N = 1000, 2000 routes of each kind
    python benchmarks/gw_l4grpc.py --sizes 500

N GRPCRoutes and N TCPRoutes (each with its own Service and EndpointSlice) attached to one
Gateway of a managed class of ours, translated with gateway attachment (as the controller does),
per router flavor. Then 30 isolated changes (one GRPCRoute's method renamed, alternately one
TCPRoute's backend port) each followed by an incremental translation. Prints a table and writes
``benchmarks/results/gw_l4grpc.json`` (median full translation wall/CPU seconds of 3 fresh
translators; p50/p99 of the incremental translations, wall ms).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

from kic_trio._deltas import Upsert  # noqa: E402
from kic_trio.models import parse  # noqa: E402
from kic_trio.store import Store  # noqa: E402
from kic_trio.translator import Translator, TranslatorOptions  # noqa: E402

GW = "gateway.networking.k8s.io"
FLAVORS = ("traditional_compatible", "expressions")
CHANGES = 30


def _cond(kind: str) -> dict[str, Any]:
    return {"type": kind, "status": "True", "reason": kind, "observedGeneration": 1}


def _gateway() -> list[dict[str, Any]]:
    listeners = [
        {"name": "http", "protocol": "HTTP", "port": 80},
        {"name": "tcp", "protocol": "TCP", "port": 9000},
    ]
    kinds = {"http": "GRPCRoute", "tcp": "TCPRoute"}
    return [
        {
            "apiVersion": f"{GW}/v1",
            "kind": "GatewayClass",
            "metadata": {"name": "kong"},
            "spec": {"controllerName": "konghq.com/kic-gateway-controller"},
        },
        {
            "apiVersion": f"{GW}/v1",
            "kind": "Gateway",
            "metadata": {"name": "kong", "namespace": "gw", "generation": 1},
            "spec": {"gatewayClassName": "kong", "listeners": listeners},
            "status": {
                "conditions": [_cond("Accepted")],
                "listeners": [
                    {
                        "name": lst["name"],
                        "supportedKinds": [{"group": GW, "kind": kinds[lst["name"]]}],
                        "attachedRoutes": 0,
                        "conditions": [_cond("Programmed")],
                    }
                    for lst in listeners
                ],
            },
        },
    ]


def _app(i: int) -> list[dict[str, Any]]:
    ns, name = f"ns{i % 50}", f"app{i}"
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "uid": f"u-{i}"},
            "spec": {"ports": [{"name": "http", "port": 80}, {"name": "tcp", "port": 7000}]},
        },
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": f"{name}-1",
                "namespace": ns,
                "labels": {"kubernetes.io/service-name": name},
            },
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 8080}, {"name": "tcp", "port": 7000}],
            "endpoints": [{"addresses": [f"10.{i // 250}.{i % 250}.{j}"]} for j in (1, 2)],
        },
    ]


def _grpc(i: int, method: str = "Get") -> dict[str, Any]:
    ns, name = f"ns{i % 50}", f"app{i}"
    return {
        "apiVersion": f"{GW}/v1",
        "kind": "GRPCRoute",
        "metadata": {"name": name, "namespace": ns, "creationTimestamp": "2024-01-01T00:00:00Z"},
        "spec": {
            "parentRefs": [{"name": "kong", "namespace": "gw"}],
            "hostnames": [f"{name}.example"],
            "rules": [
                {
                    "matches": [{"method": {"service": "svc.Api", "method": method}}],
                    "backendRefs": [{"kind": "Service", "name": name, "port": 80}],
                }
            ],
        },
    }


def _tcp(i: int, port: int = 7000) -> dict[str, Any]:
    ns, name = f"ns{i % 50}", f"app{i}"
    return {
        "apiVersion": f"{GW}/v1alpha2",
        "kind": "TCPRoute",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "parentRefs": [{"name": "kong", "namespace": "gw", "sectionName": "tcp"}],
            "rules": [{"backendRefs": [{"kind": "Service", "name": name, "port": port}]}],
        },
    }


def _upsert(store: Store, raw: dict[str, Any]) -> None:
    store.apply(Upsert(raw["kind"], parse(raw["kind"], raw)))


def run(n: int) -> list[dict[str, object]]:
    store = Store()
    for raw in _gateway():
        _upsert(store, raw)
    for i in range(n):
        for raw in (*_app(i), _grpc(i), _tcp(i)):
            _upsert(store, raw)
    snap = store.snapshot()
    rows: list[dict[str, object]] = []
    for flavor in FLAVORS:
        opts = TranslatorOptions(router_flavor=flavor)
        walls, cpus, size, services = [], [], 0, 0
        translator = Translator(opts)
        for _ in range(3):
            translator = Translator(opts)
            gc.disable()
            w, c = time.perf_counter(), time.process_time()
            result = translator.translate(snap)
            walls.append(time.perf_counter() - w)
            cpus.append(time.process_time() - c)
            gc.enable()
            size = len(result.body)
            services = len(result.config.get("services", []))
        store.take_changes()
        incremental: list[float] = []
        for k in range(CHANGES):
            i = (k * 7919) % n
            raw = _grpc(i, f"Get{k}") if k % 2 == 0 else _tcp(i, 80 if k % 4 == 1 else 7000)
            _upsert(store, raw)
            changed = store.take_changes()
            w = time.perf_counter()
            translator.translate(store.snapshot(), changed)
            incremental.append((time.perf_counter() - w) * 1000)
        incremental.sort()
        rows.append(
            {
                "routes_per_kind": n,
                "flavor": flavor,
                "kong_services": services,
                "full_wall_s": round(statistics.median(walls), 4),
                "full_cpu_s": round(statistics.median(cpus), 4),
                "body_bytes": size,
                "change_p50_ms": round(incremental[len(incremental) // 2], 2),
                "change_p99_ms": round(
                    incremental[min(len(incremental) - 1, int(len(incremental) * 0.99))], 2
                ),
            }
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000])
    args = ap.parse_args()
    rows = [row for n in args.sizes for row in run(n)]
    print(
        f"{'routes':>7} {'flavor':<24} {'services':>8} {'full s':>8} {'cpu s':>8} "
        f"{'body MB':>8} {'p50 ms':>8} {'p99 ms':>8}"
    )
    for r in rows:
        print(
            f"{r['routes_per_kind']:>7} {r['flavor']!s:<24} {r['kong_services']:>8} "
            f"{r['full_wall_s']:>8} {r['full_cpu_s']:>8} "
            f"{int(r['body_bytes']) / 1e6:>8.2f} {r['change_p50_ms']:>8} {r['change_p99_ms']:>8}"  # type: ignore[call-overload]
        )
    out = HERE / "results" / "gw_l4grpc.json"
    out.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
