"""KindHandler: class filtering, Secret filtering, malformed objects, Synced; kind switches."""

from __future__ import annotations

import math
import types
from typing import Any

import httpx
import trio

from _eventually import eventually
from kic_trio._deltas import Delete, Synced, Upsert
from kic_trio.k8s import KIND_SWITCHES, KindHandler, KubeClient, SecretFetcher, enabled_kinds


def ingress(
    name: str, cls: str | None = None, *, annotation: str | None = None, rv: str = "1"
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "ns", "resourceVersion": rv}
    if annotation:
        meta["annotations"] = {"kubernetes.io/ingress.class": annotation}
    spec: dict[str, Any] = {"ingressClassName": cls} if cls else {}
    return {"metadata": meta, "spec": spec}


def drain(receive: trio.MemoryReceiveChannel[Any]) -> list[Any]:
    out = []
    while True:
        try:
            out.append(receive.receive_nowait())
        except trio.WouldBlock:
            return out


async def test_class_filter_drops_other_classes_and_deletes_on_change() -> None:
    send, receive = trio.open_memory_channel[Any](math.inf)
    h = KindHandler("Ingress", send, ingress_class="kong")
    await h.upsert(ingress("ours", "kong"))
    await h.upsert(ingress("classless"))
    await h.upsert(ingress("other", "nginx"))
    await h.upsert(ingress("other-ann", "kong", annotation="nginx"))  # the annotation wins
    got = drain(receive)
    assert [d.obj.name for d in got if isinstance(d, Upsert)] == ["ours", "classless"]
    assert not [d for d in got if isinstance(d, Delete)]

    await h.upsert(ingress("ours", "nginx", rv="2"))
    await h.delete("ns", "other")  # never passed on: nothing to delete
    got = drain(receive)
    assert len(got) == 1
    assert isinstance(got[0], Delete)
    assert (got[0].namespace, got[0].name) == ("ns", "ours")


async def test_secrets_kept_by_label_or_when_wanted() -> None:
    send, receive = trio.open_memory_channel[Any](math.inf)
    h = KindHandler("Secret", send, ingress_class="kong", secret_label_selector="example.com/kong")

    def secret(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
        return {
            "metadata": {"name": name, "namespace": "ns", "labels": labels or {}},
            "data": {"k": "dg=="},
        }

    await h.upsert(secret("plain"))
    await h.upsert(secret("ca", {"konghq.com/ca-cert": "true"}))
    await h.upsert(secret("cred", {"konghq.com/credential": "key-auth"}))
    await h.upsert(secret("selected", {"example.com/kong": "true"}))
    await h.upsert(secret("not-selected", {"example.com/kong": "false"}))
    h.wanted_secrets.add(("ns", "wanted"))
    await h.upsert(secret("wanted"))
    names = sorted(d.obj.name for d in drain(receive))
    assert names == ["ca", "cred", "selected", "wanted"]
    # A labelled Secret that loses its label is deleted from the store.
    await h.upsert(secret("ca"))
    got = drain(receive)
    assert [(type(d), d.name) for d in got] == [(Delete, "ca")]


async def test_malformed_objects_never_raise() -> None:
    send, receive = trio.open_memory_channel[Any](math.inf)
    h = KindHandler("Ingress", send, ingress_class="kong")
    await h.upsert({"metadata": {"name": "bad", "namespace": "ns"}, "spec": 5})
    await h.upsert({"metadata": "nope"})
    await h.upsert({"spec": {}})
    await h.upsert({"metadata": {"name": ["x"]}})
    got = drain(receive)
    assert len(got) == 1
    assert got[0].obj.name == "bad"
    assert [f.field for f in got[0].obj.failures] == ["spec"]


async def test_synced_once_every_source_listed() -> None:
    send, receive = trio.open_memory_channel[Any](math.inf)
    h = KindHandler("Service", send, ingress_class="kong")
    a, b = object(), object()
    h.reset_sources([a, b])
    await h.synced(a)
    assert drain(receive) == []
    await h.synced(b)
    assert drain(receive) == [Synced("Service")]


def test_enabled_kinds_follow_switches() -> None:
    cfg = types.SimpleNamespace(enable_controller_kongplugin=False, enable_controller_service=False)
    kinds = enabled_kinds(cfg)
    assert "KongPlugin" not in kinds
    assert "Service" not in kinds
    assert {"Ingress", "EndpointSlice", "Secret", "KongClusterPlugin"} <= set(kinds)
    # EndpointSlices and Secrets cannot be switched off.
    off = types.SimpleNamespace(**{switch: False for switch in KIND_SWITCHES.values() if switch})
    assert {"EndpointSlice", "Secret"} <= set(enabled_kinds(off))


async def test_fetched_secret_deleted_meanwhile_is_not_invented() -> None:
    """A GET answered before a delete must not resurrect the Secret after the watch saw it go."""
    gate = trio.Event()
    arrived = trio.Event()

    async def answer(request: httpx.Request) -> httpx.Response:
        arrived.set()
        await gate.wait()
        name = request.url.path.rsplit("/", 1)[1]
        return httpx.Response(
            200, json={"metadata": {"name": name, "namespace": "ns", "resourceVersion": "5"}}
        )

    kube = KubeClient(api=None, namespace="default", sa_dir=None)
    kube._client = httpx.AsyncClient(
        base_url="https://k8s.test", transport=httpx.MockTransport(answer)
    )
    send, receive = trio.open_memory_channel[Any](math.inf)
    handler = KindHandler("Secret", send, ingress_class="kong")
    fetcher = SecretFetcher(kube, handler)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(fetcher.run)
            fetcher.fetch([("ns", "gone")])
            await arrived.wait()
            await handler.delete("ns", "gone")  # the watch saw it deleted while the GET was out
            gate.set()
            await eventually(lambda: not handler.fetching, interval=0.01)
            assert drain(receive) == []
            # the control case: nothing deleted meanwhile -> it arrives
            fetcher.fetch([("ns", "kept")])
            await eventually(
                lambda: not handler.fetching and ("ns", "kept") in handler.held, interval=0.01
            )
            got = drain(receive)
            assert [d.obj.name for d in got] == ["kept"]
            nursery.cancel_scope.cancel()
        await kube.http.aclose()
