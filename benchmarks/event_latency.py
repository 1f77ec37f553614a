"""Warning Event latency: how long from ``EventRecorder.emit`` to the Event in the API server?

Issue 13 asks that each hostile object's failure shows within 1 s, with the whole corpus (76
cases) landing at once. The live corpus run (``tests/reliability/test_hostile_live.py``) times
the whole chain (apply, watch, translation, push, Event) on a loaded machine; this isolates the
Event recorder against a real kube-apiserver, so its share can be seen and compared:

* ``corpus`` -- 76 namespaces with 2 new problems each, emitted at once (what the corpus does),
  after 150 count updates of already-reported problems were queued (a re-translation re-emits
  every current failure);
* ``flood`` -- one namespace emits 300 distinct problems, then 10 other namespaces one each:
  the latency of the 10 quiet namespaces' Events (one tenant must not delay another's).

Each runs under two recorder settings: ``serial`` (the rates of the recorder before: one
writer, global bucket 10 qps / burst 100, namespace limits that never bind -- but on the new
per-namespace, new-before-repeats queue, so in ``flood`` it does not show the old FIFO, where
the quiet namespaces' Events waited behind the whole flood at 10 qps) and ``current`` (the
defaults: 4 writers, 50 qps / burst 300 global, 10 qps / burst 100 per namespace). Latency is emit -> the Event
arriving on a watch of all Events (trio's clock), per problem; printed as a table (p50, p95,
max, ms) and written to ``benchmarks/results/event_latency.json``.

Usage: ``python benchmarks/event_latency.py`` (about a minute: it starts its own control plane).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import trio

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import APISERVER_ARGS, machine, write_json  # needs psutil (bench extra)

from kic_trio._errors import KubernetesError
from kic_trio.k8s._events import EventRecorder
from kic_trio.models import ObjectRef
from kic_trio.testing.controlplane import ControlPlane

SETTINGS: dict[str, dict[str, Any]] = {
    "serial": {
        "concurrency": 1,
        "qps": 10.0,
        "burst": 100,
        "namespace_qps": 1e9,
        "namespace_burst": 10**9,
    },
    "current": {},
}


class _Kube:
    """``KubeClient.request`` over the control plane's admin client."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def request(
        self, method: str, path: str, *, params: Any = None, json: Any = None, headers: Any = None
    ) -> httpx.Response:
        resp = await self.client.request(method, path, params=params, json=json, headers=headers)
        if resp.status_code >= 400:
            raise KubernetesError(f"{method} {path}: {resp.status_code}", status=resp.status_code)
        return resp


def _ref(ns: str, name: str) -> ObjectRef:
    return ObjectRef("Ingress", ns, name, f"uid-{ns}-{name}", "networking.k8s.io", "v1")


async def _watch(client: httpx.AsyncClient, arrived: dict[str, float], ready: trio.Event) -> None:
    r = await client.get("/api/v1/events")
    rv = r.json()["metadata"]["resourceVersion"]
    params = {"watch": "true", "resourceVersion": rv}
    async with client.stream("GET", "/api/v1/events", params=params, timeout=None) as w:
        ready.set()
        async for line in w.aiter_lines():
            if line.strip():
                change = json.loads(line)
                if change.get("type") == "ADDED":
                    arrived.setdefault(change["object"].get("message", ""), trio.current_time())


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def q(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))] * 1000, 1)

    return {"n": len(ordered), "p50_ms": q(0.5), "p95_ms": q(0.95), "max_ms": q(1.0)}


async def _scenario(cp: ControlPlane, name: str, setting: str, tag: str) -> dict[str, float]:
    async with cp.admin_client(timeout=60.0) as client:
        prefix = f"ev-{tag}"
        if name == "corpus":
            spaces = [f"{prefix}-{i}" for i in range(76)]
        else:
            spaces = [f"{prefix}-flood", *(f"{prefix}-quiet-{i}" for i in range(10))]
        for ns in spaces:
            r = await client.post("/api/v1/namespaces", json={"metadata": {"name": ns}})
            r.raise_for_status()
        recorder = EventRecorder(_Kube(client), **SETTINGS[setting])
        arrived: dict[str, float] = {}
        ready = trio.Event()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_watch, client, arrived, ready)
            await ready.wait()
            await nursery.start(recorder.run)
            timed: dict[str, float] = {}
            if name == "corpus":
                # 150 problems already reported, re-emitted by a later translation
                old = [(spaces[i % 76], f"old-{i}") for i in range(150)]
                for ns, obj in old:
                    recorder.emit(_ref(ns, obj), "Warning", "R", f"{ns}/{obj} old")
                await recorder.wait_idle()
                for ns, obj in old:
                    recorder.emit(_ref(ns, obj), "Warning", "R", f"{ns}/{obj} old")
                for ns in spaces:
                    for j in range(2):
                        msg = f"{ns}/case-{j} new"
                        timed[msg] = trio.current_time()
                        recorder.emit(_ref(ns, f"case-{j}"), "Warning", "R", msg)
            else:
                flood = spaces[0]
                for i in range(300):
                    recorder.emit(_ref(flood, f"f-{i}"), "Warning", "R", f"{flood}/f-{i}")
                for ns in spaces[1:]:
                    msg = f"{ns}/web quiet"
                    timed[msg] = trio.current_time()
                    recorder.emit(_ref(ns, "web"), "Warning", "R", msg)
            with trio.fail_after(180):
                while not set(timed) <= set(arrived):
                    await trio.sleep(0.05)
            nursery.cancel_scope.cancel()
        return _stats([arrived[m] - t for m, t in timed.items()])


async def bench() -> dict[str, Any]:
    results: dict[str, dict[str, dict[str, float]]] = {}
    async with ControlPlane(apiserver_args=APISERVER_ARGS) as cp:
        for scenario in ("corpus", "flood"):
            for setting in SETTINGS:
                tag = f"{scenario[0]}{setting[0]}{int(time.time()) % 10000}"
                stats = await _scenario(cp, scenario, setting, tag)
                results.setdefault(scenario, {})[setting] = stats
    return {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "settings": SETTINGS,
        "results": results,
    }


def main() -> None:
    data = trio.run(bench)
    print(f"{'scenario':8} {'recorder':8} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for scenario, by_setting in data["results"].items():
        for setting, s in by_setting.items():
            print(
                f"{scenario:8} {setting:8} {s['n']:>5} {s['p50_ms']:>8} "
                f"{s['p95_ms']:>8} {s['max_ms']:>8}"
            )
    path = write_json("event_latency.json", data)
    print(f"written to {path}")


if __name__ == "__main__":
    main()
