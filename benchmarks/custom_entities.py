"""KongCustomEntity / KongVault benchmark: what the new kinds cost in a big configuration.

    python benchmarks/custom_entities.py              # N = 1000
    python benchmarks/custom_entities.py --sizes 1000 5000

Each synthetic set (``_sets.make_set``) gets one KongCustomEntity attached to the set's
KongPlugin (so its ``degraphql_routes`` entity names the set's Kong service) and every tenth
set one KongVault. Measures a full translation with and without them, and the incremental
translation after one custom entity changes, after one vault changes and after the plugin's
Ingress is detached (the entity follows its parent's attachments). Median of 3 (full) / 21
(incremental) runs, wall and CPU seconds. Writes ``benchmarks/results/custom_entities.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
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
from kic_trio.translator import Translator, TranslatorOptions  # noqa: E402


def _kce(i: int, uri: str = "/q") -> dict[str, Any]:
    return {
        "apiVersion": "configuration.konghq.com/v1alpha1",
        "kind": "KongCustomEntity",
        "metadata": {"name": f"kce-{i}", "namespace": _sets.namespace_of(i), "uid": f"kce-{i}"},
        "spec": {
            "controllerName": "kong",
            "type": "degraphql_routes",
            "parentRef": {
                "group": "configuration.konghq.com",
                "kind": "KongPlugin",
                "name": f"key-auth-{i}",
            },
            "fields": {"uri": uri, "query": "query{ a }"},
        },
    }


def _vault(i: int, description: str = "") -> dict[str, Any]:
    return {
        "apiVersion": "configuration.konghq.com/v1alpha1",
        "kind": "KongVault",
        "metadata": {
            "name": f"vault-{i}",
            "uid": f"vault-{i}",
            "annotations": {"kubernetes.io/ingress.class": "kong"},
        },
        "spec": {"backend": "env", "prefix": f"env-{i}", "description": description},
    }


def _put(store: Store, obj: dict[str, Any]) -> None:
    store.apply(Upsert(obj["kind"], parse(obj["kind"], obj)))


def _full(store: Store) -> tuple[float, float, int]:
    walls, cpus, size = [], [], 0
    for _ in range(3):
        gc.disable()
        w, c = time.perf_counter(), time.process_time()
        result = Translator(TranslatorOptions()).translate(store.snapshot())
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
        gc.enable()
        size = len(result.body)
    return statistics.median(walls), statistics.median(cpus), size


def run(n: int) -> list[dict[str, Any]]:
    store = Store()
    sets = [obj for i in range(n) for obj in _sets.make_set(i, _sets.certificates(n)[i])]
    for obj in sets:
        _put(store, obj)
    rows: list[dict[str, Any]] = []
    wall, cpu, size = _full(store)
    rows.append({"sets": n, "case": "full, without the new kinds", "wall_s": wall, "cpu_s": cpu})
    for i in range(n):
        _put(store, _kce(i))
        if i % 10 == 0:
            _put(store, _vault(i))
    wall, cpu, size = _full(store)
    rows.append({"sets": n, "case": "full, with them", "wall_s": wall, "cpu_s": cpu})
    tr = Translator(TranslatorOptions())
    tr.translate(store.snapshot())
    store.take_changes()
    ingress = next(o for o in sets if o["kind"] == "Ingress")
    detached = json.loads(json.dumps(ingress))
    detached["metadata"]["annotations"].pop("konghq.com/plugins", None)
    steps = {
        "incremental: one custom entity changed": lambda k: _kce(n // 2, f"/q{k}"),
        "incremental: one vault changed": lambda k: _vault(0, f"d{k}"),
        "incremental: its plugin's Ingress detached/attached": (
            lambda k: detached if k % 2 == 0 else ingress
        ),
    }
    for case, make in steps.items():
        walls, cpus = [], []
        last = b""
        for k in range(21):
            obj = json.loads(json.dumps(make(k)))
            obj["metadata"]["resourceVersion"] = f"bench-{case}-{k}"  # the store skips equal ones
            _put(store, obj)
            snap, changes = store.snapshot(), store.take_changes()
            w, c = time.perf_counter(), time.process_time()
            body = tr.translate(snap, changes).body
            walls.append(time.perf_counter() - w)
            cpus.append(time.process_time() - c)
            assert body != last, f"{case}: step {k} changed nothing"
            last = body
        rows.append(
            {
                "sets": n,
                "case": case,
                "wall_s": statistics.median(walls),
                "cpu_s": statistics.median(cpus),
            }
        )
    for r in rows:
        r["wall_s"], r["cpu_s"] = round(r["wall_s"], 5), round(r["cpu_s"], 5)
        r["body_bytes"] = size
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000])
    args = ap.parse_args()
    rows = [row for n in args.sizes for row in run(n)]
    print(f"{'sets':>6} {'case':<52} {'wall ms':>9} {'cpu ms':>9}")
    for r in rows:
        print(f"{r['sets']:>6} {r['case']:<52} {r['wall_s'] * 1e3:>9.2f} {r['cpu_s'] * 1e3:>9.2f}")
    out = HERE / "results" / "custom_entities.json"
    out.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
