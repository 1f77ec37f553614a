"""The kind-neutral service model: one Kong service, several weighted backends.

Ingress always makes one backend (its output is unchanged: the golden cases); Gateway API
route kinds will make several. These tests drive the service stage directly.
"""

from __future__ import annotations

from typing import Any

from kic_trio._deltas import Upsert
from kic_trio.models import ObjectRef, parse
from kic_trio.store import Store
from kic_trio.translator._ingress import RouteOut
from kic_trio.translator._model import Backend
from kic_trio.translator._services import translate_service

OWNER = ObjectRef("HTTPRoute", "ns", "r", "uid-r", "gateway.networking.k8s.io", "v1")
ARGS: dict[str, Any] = {
    "service_upstream": False,
    "cluster_domain": "",
    "drain": False,
    "fill_ids": False,
}


def _store(*services: tuple[str, list[str]]) -> Store:
    store = Store()
    for name, ips in services:
        store.apply(
            Upsert(
                "Service",
                parse(
                    "Service",
                    {
                        "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}"},
                        "spec": {"ports": [{"port": 80, "name": "http"}]},
                    },
                ),
            )
        )
        store.apply(
            Upsert(
                "EndpointSlice",
                parse(
                    "EndpointSlice",
                    {
                        "metadata": {
                            "name": f"{name}-1",
                            "namespace": "ns",
                            "labels": {"kubernetes.io/service-name": name},
                        },
                        "addressType": "IPv4",
                        "ports": [{"name": "http", "port": 8080}],
                        "endpoints": [{"addresses": [ip]} for ip in ips],
                    },
                ),
            )
        )
    return store


def _route(*backends: Backend) -> RouteOut:
    return RouteOut(
        name="ns.r.0",
        service="ns.r.0",
        backend=backends[0],
        route={"name": "ns.r.0", "paths": ["/"]},
        ingress=OWNER,
        more_backends=backends[1:],
    )


def test_a_single_backend_has_unweighted_targets() -> None:
    route = _route(Backend("ns", "a", ("number", 80)))
    out = translate_service(
        "ns.r.0", route.backends, [route], _store(("a", ["10.0.0.1"])).snapshot(), **ARGS
    )
    assert out.upstream["targets"] == [{"target": "10.0.0.1:8080"}]
    assert route.owner == OWNER


def test_several_backends_share_one_upstream_by_weight() -> None:
    route = _route(Backend("ns", "a", ("number", 80), 80), Backend("ns", "b", ("number", 80), 20))
    snap = _store(("a", ["10.0.0.1"]), ("b", ["10.0.0.2", "10.0.0.3"])).snapshot()
    out = translate_service("ns.r.0", route.backends, [route], snap, **ARGS)
    assert out.upstream["targets"] == [
        {"target": "10.0.0.1:8080", "weight": 80},
        {"target": "10.0.0.2:8080", "weight": 20},
        {"target": "10.0.0.3:8080", "weight": 20},
    ]
    # every backend's Service and endpoints are dependencies: a change there re-translates
    assert {("Service", "ns", "b"), ("eps", "ns", "b")} <= out.deps
    assert not out.failures


def test_a_missing_backend_fails_on_the_owner_and_the_others_still_serve() -> None:
    route = _route(Backend("ns", "a", ("number", 80), 1), Backend("ns", "gone", ("number", 80), 1))
    out = translate_service(
        "ns.r.0", route.backends, [route], _store(("a", ["10.0.0.1"])).snapshot(), **ARGS
    )
    assert out.upstream["targets"] == [{"target": "10.0.0.1:8080", "weight": 1}]
    assert [f.obj for f in out.failures] == [OWNER]
    assert "ns/gone" in out.failures[0].reason
    assert ("Service", "ns", "gone") in out.deps
