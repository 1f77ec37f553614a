"""Store memory for N sets (Ingress + Service + EndpointSlice + TLS Secret) vs raw JSON dicts.

Why: upstream's top memory complaint is its cache (every Secret in the cluster, full objects,
held twice). kic-trio keeps slim typed models in a HAMT store. This measures, with
``tracemalloc``, the bytes held per object by:

* ``raw dicts``: each object as ``json.loads`` gives it (what a cache of API responses holds;
  httpx's ``response.json()`` and so kr8s use ``json.loads``);
* ``raw + managedFields``: the same with a ``managedFields`` entry, as kube-apiserver returns
  objects written by kubectl/SSA (controller caches hold these unless they strip them);
* ``store``: ``kic_trio.store.Store`` holding ``kic_trio.models.parse`` results, prepared as
  the watch layer prepares them (``kic_trio.k8s.prepare_raw``): what the controller keeps;
* ``watch bookkeeping``: what the watch layer keeps besides the store (``Reflector.known``
  and ``KindHandler.held``: key -> resourceVersion).

Usage: ``python benchmarks/store_memory.py [--sets 10000]``; writes
``benchmarks/results/store_memory.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _sets import make_sets

from kic_trio._deltas import Upsert
from kic_trio.k8s import prepare_raw
from kic_trio.models import parse
from kic_trio.store import Store

KINDS = ("Ingress", "Service", "EndpointSlice", "Secret")


def _fields_v1(value: Any) -> Any:
    """A FieldsV1-like tree of ``value`` (``f:<key>`` per field), as managedFields carry."""
    if isinstance(value, dict):
        return {f"f:{k}": _fields_v1(v) for k, v in value.items()}
    if isinstance(value, list):
        return {f'k:{{"i":{i}}}': _fields_v1(v) for i, v in enumerate(value)}
    return {}


def with_managed_fields(obj: dict[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(obj))
    fields = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "status")}
    out["metadata"]["managedFields"] = [
        {
            "manager": "kubectl-client-side-apply",
            "operation": "Update",
            "apiVersion": obj.get("apiVersion", "v1"),
            "time": "2025-01-01T00:00:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": _fields_v1(fields),
        }
    ]
    return out


def objects(n_sets: int) -> list[dict[str, Any]]:
    """The benchmark's objects: per set, its Ingress, Service, EndpointSlice and TLS Secret."""
    out = []
    for obj in make_sets(n_sets):
        kind = obj["kind"]
        if kind in ("Ingress", "Service", "EndpointSlice") or (
            kind == "Secret" and obj.get("type") == "kubernetes.io/tls"
        ):
            out.append(obj)
    return out


def measure(build: Callable[[], Any]) -> tuple[int, Any]:
    """Bytes still allocated after ``build()`` (its result kept alive), transient garbage excluded."""
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    held = build()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    return after - before, held


def key_of(obj: dict[str, Any]) -> tuple[str, str, str]:
    m = obj["metadata"]
    return (obj["kind"], m.get("namespace", ""), m["name"])


def run(n_sets: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    objs = objects(n_sets)
    plain_blobs = [(o["kind"], json.dumps(o).encode()) for o in objs]
    mf_blobs = [(o["kind"], json.dumps(with_managed_fields(o)).encode()) for o in objs]
    del objs
    gen_s = time.perf_counter() - t0
    counts = {k: sum(1 for kind, _ in plain_blobs if kind == k) for k in KINDS}
    total_objects = len(plain_blobs)
    json_bytes = sum(len(b) for _, b in plain_blobs)

    tracemalloc.start()
    rows: dict[str, dict[str, Any]] = {}

    def raw(blobs: list[tuple[str, bytes]]) -> Callable[[], Any]:
        def build() -> Any:
            cache: dict[tuple[str, str, str], Any] = {}
            for _, b in blobs:
                o = json.loads(b)
                cache[key_of(o)] = o
            return cache

        return build

    def store_build() -> Any:
        store = Store()
        for kind, b in plain_blobs:
            store.apply(Upsert(kind, parse(kind, prepare_raw(kind, orjson.loads(b)))))
        return store

    def bookkeeping() -> Any:
        known: dict[tuple[str, str], str] = {}
        held: dict[tuple[str, str], str] = {}
        for kind, b in plain_blobs:
            m = orjson.loads(b)["metadata"]
            known[(m["namespace"], m["name"])] = m["resourceVersion"]
            if kind in ("Ingress", "Secret"):  # only class/Secret-filtered kinds track `held`
                held[(m["namespace"], m["name"])] = m["resourceVersion"]
        return known, held

    for label, build in (
        ("raw dicts", raw(plain_blobs)),
        ("raw + managedFields", raw(mf_blobs)),
        ("store (kic-trio)", store_build),
        ("watch bookkeeping", bookkeeping),
    ):
        t = time.perf_counter()
        size, held = measure(build)
        rows[label] = {
            "bytes": size,
            "bytes_per_object": round(size / total_objects),
            "seconds": round(time.perf_counter() - t, 2),
        }
        del held

    # Per kind: raw vs store.
    per_kind: dict[str, dict[str, int]] = {}
    for kind in KINDS:
        blobs = [(k, b) for k, b in plain_blobs if k == kind]
        raw_size, held = measure(raw(blobs))
        del held

        def kind_store(blobs: list[tuple[str, bytes]] = blobs, kind: str = kind) -> Any:
            s = Store()
            for _, b in blobs:
                s.apply(Upsert(kind, parse(kind, prepare_raw(kind, orjson.loads(b)))))
            return s

        store_size, held = measure(kind_store)
        del held
        per_kind[kind] = {
            "objects": len(blobs),
            "raw_bytes_per_object": round(raw_size / len(blobs)),
            "store_bytes_per_object": round(store_size / len(blobs)),
        }
    tracemalloc.stop()
    return {
        "sets": n_sets,
        "objects": total_objects,
        "counts": counts,
        "json_bytes": json_bytes,
        "generate_seconds": round(gen_s, 1),
        "python": sys.version.split()[0],
        "results": rows,
        "per_kind": per_kind,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", type=int, default=10_000)
    ap.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "store_memory.json"
    )
    args = ap.parse_args()
    res = run(args.sets)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2) + "\n")
    mb = 1024 * 1024
    print(f"{res['sets']} sets, {res['objects']} objects, {res['json_bytes'] / mb:.1f} MB of JSON")
    print(f"{'what':<24}{'MB':>10}{'bytes/object':>15}")
    for label, row in res["results"].items():
        print(f"{label:<24}{row['bytes'] / mb:>10.1f}{row['bytes_per_object']:>15}")
    print(f"\n{'kind':<16}{'raw B/obj':>12}{'store B/obj':>14}{'ratio':>8}")
    for kind, row in res["per_kind"].items():
        ratio = row["raw_bytes_per_object"] / max(1, row["store_bytes_per_object"])
        print(
            f"{kind:<16}{row['raw_bytes_per_object']:>12}{row['store_bytes_per_object']:>14}{ratio:>8.1f}"
        )
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
