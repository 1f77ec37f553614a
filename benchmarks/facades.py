"""KongServiceFacade benchmark: N Ingresses each behind its own facade, full vs incremental.

    python benchmarks/facades.py                 # N = 1000, 5000
    python benchmarks/facades.py --sizes 2000

Each set is a Service with endpoints, a KongServiceFacade on it and an Ingress whose backend
is the facade (gate ``KongServiceFacade`` on). Measures a full translation and the
incremental translation after one facade changes (its port annotation), which must recompute
only that facade's Kong service. Prints a table and writes ``benchmarks/results/facades.json``.
Medians of 3 (wall and CPU seconds; the machine is shared, CPU is the steadier).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from pathlib import Path
from typing import Any

from kic_trio._deltas import Upsert
from kic_trio.models import parse
from kic_trio.store import Store
from kic_trio.translator import Translator, TranslatorOptions

HERE = Path(__file__).resolve().parent
GROUP = "incubator.ingress-controller.konghq.com"
OPTS = TranslatorOptions(kong_service_facade=True)


def _set(i: int, path: str = "/") -> list[dict[str, Any]]:
    ns, name = f"ns{i // 100}", f"app{i}"
    backend = {"resource": {"apiGroup": GROUP, "kind": "KongServiceFacade", "name": name}}
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
            "metadata": {
                "name": f"{name}-1",
                "namespace": ns,
                "labels": {"kubernetes.io/service-name": name},
            },
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
            "endpoints": [
                {
                    "addresses": [f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"],
                    "conditions": {"ready": True},
                }
            ],
        },
        {
            "apiVersion": f"{GROUP}/v1alpha1",
            "kind": "KongServiceFacade",
            "metadata": {
                "name": name,
                "namespace": ns,
                "uid": f"f-{i}",
                "annotations": {"kubernetes.io/ingress.class": "kong", "konghq.com/path": path},
            },
            "spec": {"backendRef": {"name": name, "port": 80}},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": name, "namespace": ns, "uid": f"i-{i}"},
            "spec": {
                "ingressClassName": "kong",
                "rules": [
                    {
                        "host": f"{name}.example.com",
                        "http": {
                            "paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]
                        },
                    }
                ],
            },
        },
    ]


def run(n: int) -> dict[str, object]:
    store = Store()
    for i in range(n):
        for obj in _set(i):
            store.apply(Upsert(obj["kind"], parse(obj["kind"], obj)))
    snap = store.snapshot()
    store.take_changes()
    full_w, full_c, inc_w, inc_c, services = [], [], [], [], 0
    for rep in range(3):
        gc.disable()
        w, c = time.perf_counter(), time.process_time()
        tr = Translator(OPTS)
        result = tr.translate(snap)
        full_w.append(time.perf_counter() - w)
        full_c.append(time.process_time() - c)
        services = len(result.config.get("services", []))
        facade = _set(n // 2, path=f"/v{rep + 2}")[2]
        store.apply(Upsert("KongServiceFacade", parse("KongServiceFacade", facade)))
        w, c = time.perf_counter(), time.process_time()
        tr.translate(store.snapshot(), store.take_changes())
        inc_w.append(time.perf_counter() - w)
        inc_c.append(time.process_time() - c)
        gc.enable()
        snap = store.snapshot()
    return {
        "sets": n,
        "kong_services": services,
        "full_wall_s": round(statistics.median(full_w), 4),
        "full_cpu_s": round(statistics.median(full_c), 4),
        "one_facade_change_wall_ms": round(statistics.median(inc_w) * 1000, 2),
        "one_facade_change_cpu_ms": round(statistics.median(inc_c) * 1000, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    args = ap.parse_args()
    rows = [run(n) for n in args.sizes]
    print(f"{'sets':>6} {'services':>9} {'full wall s':>12} {'full cpu s':>11} {'1 change ms':>12}")
    for r in rows:
        print(
            f"{r['sets']:>6} {r['kong_services']:>9} {r['full_wall_s']:>12} "
            f"{r['full_cpu_s']:>11} {r['one_facade_change_wall_ms']:>12}"
        )
    out = HERE / "results" / "facades.json"
    out.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
