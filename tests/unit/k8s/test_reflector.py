"""Reflector semantics on virtual time, against a scripted API server (httpx.MockTransport).

The real kube-apiserver tests are in tests/integration/test_watch*.py; these pin the exact
protocol: paging, watch parameters, bookmarks, 410 relist diff, backoff, malformed lines.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import trio

from kic_trio.k8s import Backoff, KindNotServed, KubeClient, Reflector, collection_path
from kic_trio.models import KINDS

SERVICE = KINDS["Service"]
PATH = "/api/v1/namespaces/ns/services"


def svc(name: str, rv: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns", "resourceVersion": rv}}


def ndjson(*events: Any) -> bytes:
    return b"".join((e if isinstance(e, bytes) else json.dumps(e).encode()) + b"\n" for e in events)


class Recorder:
    """A WatchSink that records what it is told."""

    def __init__(self) -> None:
        self.events: list[tuple[str, ...]] = []
        self.synced_count = 0

    async def upsert(self, raw: dict[str, Any]) -> None:
        m = raw["metadata"]
        self.events.append(("upsert", m["name"], m.get("resourceVersion", "")))

    async def delete(self, namespace: str, name: str) -> None:
        self.events.append(("delete", name))

    async def synced(self, source: object) -> None:
        self.synced_count += 1
        self.events.append(("synced",))


def make_kube(handler: Callable[[httpx.Request], httpx.Response]) -> KubeClient:
    """The real KubeClient (error mapping, streaming) over a scripted transport."""
    kube = KubeClient(api=None, namespace="default", sa_dir=None)
    kube._client = httpx.AsyncClient(
        base_url="https://k8s.test", transport=httpx.MockTransport(handler)
    )
    return kube


class Script:
    """Answers requests in order from a list of (check, response) steps; then idles."""

    def __init__(self, steps: list[tuple[dict[str, str], httpx.Response]]) -> None:
        self.steps = steps
        self.requests: list[httpx.Request] = []
        self.done = trio.Event()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.steps:
            self.done.set()
            return httpx.Response(500, json={"kind": "Status", "message": "script over"})
        expect, resp = self.steps.pop(0)
        for k, v in expect.items():
            assert request.url.params.get(k) == v, (k, request.url.params)
        return resp


def test_backoff_doubles_with_jitter_caps_and_resets() -> None:
    b = Backoff(rng=random.Random(1))
    delays = [b.next(now=0.0) for _ in range(8)]
    bases = [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0]
    for d, base in zip(delays, bases, strict=True):
        assert base <= d < 2 * base
    # After a stable period the base starts over.
    assert 0.8 <= b.next(now=10_000.0) < 1.6


def test_collection_paths() -> None:
    assert collection_path(SERVICE, "ns") == PATH
    assert collection_path(SERVICE, None) == "/api/v1/services"
    assert (
        collection_path(KINDS["Ingress"], "a")
        == "/apis/networking.k8s.io/v1/namespaces/a/ingresses"
    )
    assert (
        collection_path(KINDS["KongClusterPlugin"], "a")
        == "/apis/configuration.konghq.com/v1/kongclusterplugins"
    )


async def test_list_watch_bookmark_gone_relist(autojump_clock: trio.testing.MockClock) -> None:
    script = Script(
        [
            # paged list
            (
                {"limit": "2"},
                httpx.Response(
                    200,
                    json={"metadata": {"continue": "c1"}, "items": [svc("a", "5"), svc("b", "6")]},
                ),
            ),
            (
                {"continue": "c1"},
                httpx.Response(
                    200, json={"metadata": {"resourceVersion": "10"}, "items": [svc("c", "7")]}
                ),
            ),
            # watch from the list's RV: an add, a bookmark, garbage, a change, then the server ends it
            (
                {"watch": "true", "resourceVersion": "10", "allowWatchBookmarks": "true"},
                httpx.Response(
                    200,
                    content=ndjson(
                        {"type": "ADDED", "object": svc("d", "11")},
                        {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "15"}}},
                        b"{not json",
                        {"type": "ADDED", "object": {"metadata": {}}},
                        {"type": "MODIFIED", "object": svc("a", "16")},
                    ),
                ),
            ),
            # resume from the last RV; it has expired
            (
                {"resourceVersion": "16"},
                httpx.Response(
                    200,
                    content=ndjson({"type": "ERROR", "object": {"kind": "Status", "code": 410}}),
                ),
            ),
            # relist: b and d vanished, e appeared, a and c unchanged
            (
                {"limit": "2"},
                httpx.Response(
                    200,
                    json={
                        "metadata": {"resourceVersion": "20"},
                        "items": [svc("a", "16"), svc("c", "7"), svc("e", "19")],
                    },
                ),
            ),
        ]
    )
    sink = Recorder()
    kube = make_kube(script)
    r = Reflector(kube, "Service", SERVICE, sink, namespace="ns", page_size=2, rng=random.Random(0))
    with trio.fail_after(600):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(r.run)
            await script.done.wait()
            nursery.cancel_scope.cancel()
        await kube.http.aclose()
    assert sink.events[:9] == [
        ("upsert", "a", "5"),
        ("upsert", "b", "6"),
        ("upsert", "c", "7"),
        ("synced",),
        ("upsert", "d", "11"),
        ("upsert", "a", "16"),
        ("upsert", "e", "19"),
        ("delete", "b"),
        ("delete", "d"),
    ]
    assert sink.events[9] == ("synced",)
    assert r.known == {("ns", "a"): "16", ("ns", "c"): "7", ("ns", "e"): "19"}
    assert r.lists == 2
    watch = script.requests[2].url.params
    assert 300 <= int(watch["timeoutSeconds"]) <= 600


async def test_errors_back_off_and_resume_without_relisting(
    autojump_clock: trio.testing.MockClock,
) -> None:
    script = Script(
        [
            (
                {},
                httpx.Response(
                    200, json={"metadata": {"resourceVersion": "3"}, "items": [svc("a", "3")]}
                ),
            ),
            (
                {"watch": "true", "resourceVersion": "3"},
                httpx.Response(503, json={"kind": "Status", "message": "unavailable"}),
            ),
            (
                {"watch": "true", "resourceVersion": "3"},
                httpx.Response(503, json={"kind": "Status", "message": "unavailable"}),
            ),
            (
                {"watch": "true", "resourceVersion": "3"},
                httpx.Response(200, content=ndjson({"type": "DELETED", "object": svc("a", "4")})),
            ),
        ]
    )
    sink = Recorder()
    kube = make_kube(script)
    r = Reflector(kube, "Service", SERVICE, sink, namespace="ns", rng=random.Random(0))
    with trio.fail_after(600):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(r.run)
            start = trio.current_time()
            await script.done.wait()
            elapsed = trio.current_time() - start
            nursery.cancel_scope.cancel()
        await kube.http.aclose()
    assert sink.events == [("upsert", "a", "3"), ("synced",), ("delete", "a")]
    assert r.lists == 1
    # two backoffs: [0.8, 1.6) + [1.6, 3.2) seconds of virtual time, at least
    assert elapsed >= 2.4


async def test_not_served_on_first_list() -> None:
    kube = make_kube(
        lambda req: httpx.Response(404, json={"kind": "Status", "message": "not found"})
    )
    r = Reflector(kube, "KongPlugin", KINDS["KongPlugin"], Recorder(), namespace="ns")
    with trio.fail_after(10):
        with pytest.raises(KindNotServed):
            await r.run()
        await kube.http.aclose()
