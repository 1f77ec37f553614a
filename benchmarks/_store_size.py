"""Bytes held by the controller's store and translator for N sets (run as a subprocess).

The controller's RSS is split with the store_memory benchmark's method: ``tracemalloc`` of a
``Store`` loaded with the same objects the controller holds (``kic_trio.models.parse`` of each,
applied as ``Upsert``), then of a ``Translator`` after one full translation of it (its caches of
per-entity fragments and the last body, which the controller keeps too). Whatever remains of
the RSS is the interpreter, imported libraries, buffers, allocator slack and the watch layer.

Usage: ``python benchmarks/_store_size.py N`` prints one JSON object.
"""

from __future__ import annotations

import gc
import json
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _sets import certificates, make_set

from kic_trio._deltas import Upsert
from kic_trio.models import parse
from kic_trio.store import Store
from kic_trio.translator import Translator, TranslatorOptions

INGRESS_CLASS = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "IngressClass",
    "metadata": {"name": "kong", "uid": "ic-kong", "resourceVersion": "1"},
    "spec": {"controller": "ingress-controllers.konghq.com/kong"},
}


def main() -> None:
    n = int(sys.argv[1])
    certs = certificates(n)
    t0 = time.perf_counter()
    tracemalloc.start()
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    store = Store()
    store.apply(Upsert("IngressClass", parse("IngressClass", INGRESS_CLASS)))
    objects = 1
    for i in range(n):
        for obj in make_set(i, certs[i]):
            store.apply(Upsert(obj["kind"], parse(obj["kind"], obj)))
            objects += 1
    gc.collect()
    store_bytes = tracemalloc.get_traced_memory()[0] - before
    translator = Translator(TranslatorOptions())
    snap = store.snapshot()
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    result = translator.translate(snap, changed=None)
    body = len(result.body)
    gc.collect()
    with_result = tracemalloc.get_traced_memory()[0] - before
    del result
    gc.collect()
    translator_bytes = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    print(
        json.dumps(
            {
                "sets": n,
                "objects": objects,
                "store_bytes": store_bytes,
                "translator_bytes": translator_bytes,
                "translator_with_result_bytes": with_result,
                "body_bytes": body,
                "seconds": round(time.perf_counter() - t0, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
