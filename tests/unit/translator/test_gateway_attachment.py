"""Route attachment to Gateways (translator/_gwattach.py): upstream's rules and reasons
(gateway-api.md §4.2), hostname filtering (§4.3.3), grants, recorded dependencies."""

from __future__ import annotations

from typing import Any

import pytest

from kic_trio._deltas import Upsert
from kic_trio.models import parse
from kic_trio.store import Store
from kic_trio.translator._gwattach import (
    ANY,
    RouteAttachment,
    attach,
    grant_allows,
    hostnames_intersect,
    minimum_intersection,
)
from kic_trio.translator._httproute import ANY as HTTPROUTE_ANY

GW = "gateway.networking.k8s.io"
OURS = "konghq.com/kic-gateway-controller"


class View:
    def __init__(self, objs: list[dict[str, Any]]) -> None:
        store = Store()
        for raw in objs:
            store.apply(Upsert(raw["kind"], parse(raw["kind"], raw)))
        self.snap = store.snapshot()

    def get(self, kind: str, namespace: str, name: str) -> Any:
        return self.snap.get(kind, namespace, name)


def gclass(name: str = "kong", controller: str = OURS, unmanaged: bool = True) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if unmanaged:
        meta["annotations"] = {"konghq.com/gatewayclass-unmanaged": "true"}
    return {
        "kind": "GatewayClass",
        "apiVersion": f"{GW}/v1",
        "metadata": meta,
        "spec": {"controllerName": controller},
    }


def listener(name: str, port: int = 80, protocol: str = "HTTP", **kw: Any) -> dict[str, Any]:
    return {"name": name, "port": port, "protocol": protocol, **kw}


def gateway(
    listeners: list[dict[str, Any]],
    ns: str = "ns",
    name: str = "gw",
    cls: str = "kong",
    programmed: bool = True,
    accepted: bool = False,
    kinds: tuple[str, ...] = ("HTTPRoute", "GRPCRoute", "TCPRoute", "UDPRoute", "TLSRoute"),
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "listeners": [
            {
                "name": lst["name"],
                "attachedRoutes": 0,
                "supportedKinds": [{"group": GW, "kind": k} for k in kinds],
                "conditions": [
                    {
                        "type": "Programmed",
                        "status": "True" if programmed else "False",
                        "reason": "Programmed" if programmed else "Invalid",
                    }
                ],
            }
            for lst in listeners
        ]
    }
    if accepted:
        status["conditions"] = [
            {"type": "Accepted", "status": "True", "reason": "Accepted", "observedGeneration": 1}
        ]
    return {
        "kind": "Gateway",
        "apiVersion": f"{GW}/v1",
        "metadata": {"name": name, "namespace": ns, "generation": 1},
        "spec": {"gatewayClassName": cls, "listeners": listeners},
        "status": status,
    }


def route(
    parent: dict[str, Any] | list[dict[str, Any]] | None = None,
    hostnames: list[str] | None = None,
    ns: str = "ns",
    kind: str = "HTTPRoute",
) -> Any:
    parents = parent if isinstance(parent, list) else [parent or {"name": "gw"}]
    spec: dict[str, Any] = {"parentRefs": parents, "rules": [{}]}
    if hostnames is not None:
        spec["hostnames"] = hostnames
    version = "v1" if kind in ("HTTPRoute", "GRPCRoute") else "v1alpha2"
    return parse(
        kind,
        {
            "kind": kind,
            "apiVersion": f"{GW}/{version}",
            "metadata": {"name": "r", "namespace": ns},
            "spec": spec,
        },
    )


def one(att: RouteAttachment) -> tuple[bool, str]:
    (p,) = att.parents
    return p.accepted, p.reason


def test_accepted_by_a_listener_with_protocols_and_deps() -> None:
    v = View([gclass(), gateway([listener("http"), listener("https", 443, "HTTPS")])])
    att = attach(route(), v)
    assert att.attached and one(att) == (True, "Accepted")
    assert [lst.name for lst in att.parents[0].listeners] == ["http", "https"]
    assert att.protocols() == ("http", "https")
    assert att.hostnames == ()
    assert {("Gateway", "ns", "gw"), ("GatewayClass", "", "kong")} <= att.deps


def test_not_our_gateways_are_not_parents() -> None:
    assert (
        attach(route(), View([gclass(controller="other.io/x"), gateway([listener("a")])])).parents
        == ()
    )
    assert attach(route(), View([gateway([listener("a")])])).parents == ()  # no class
    assert attach(route(), View([gclass()])).parents == ()  # no gateway
    # the missing Gateway is still a dependency: its creation recomputes the route
    assert ("Gateway", "ns", "gw") in attach(route(), View([gclass()])).deps
    # a parentRef that is not a Gateway
    assert (
        attach(
            route({"name": "gw", "kind": "Service", "group": ""}),
            View([gclass(), gateway([listener("a")])]),
        ).parents
        == ()
    )


def test_managed_class_needs_an_accepted_gateway() -> None:
    objs = [gclass(unmanaged=False), gateway([listener("a")])]
    assert attach(route(), View(objs)).parents == ()
    objs = [gclass(unmanaged=False), gateway([listener("a")], accepted=True)]
    assert one(attach(route(), View(objs))) == (True, "Accepted")


@pytest.mark.parametrize(
    ("from_", "route_ns", "ok"),
    [("Same", "ns", True), ("Same", "other", False), ("All", "other", True)],
)
def test_allowed_routes_namespaces(from_: str, route_ns: str, ok: bool) -> None:
    lst = listener("a", allowedRoutes={"namespaces": {"from": from_}})
    v = View([gclass(), gateway([lst])])
    att = attach(route({"name": "gw", "namespace": "ns"}, ns=route_ns), v)
    assert one(att) == ((True, "Accepted") if ok else (False, "NotAllowedByListeners"))


def test_allowed_routes_selector_reads_the_namespace_labels() -> None:
    lst = listener(
        "a",
        allowedRoutes={
            "namespaces": {"from": "Selector", "selector": {"matchLabels": {"team": "a"}}}
        },
    )
    r = route({"name": "gw", "namespace": "ns"}, ns="other")
    objs = [gclass(), gateway([lst])]
    att = attach(r, View(objs))
    assert one(att) == (False, "NotAllowedByListeners")
    assert ("Namespace", "", "other") in att.deps
    labelled = {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {"name": "other", "labels": {"team": "a"}},
    }
    v = View([*objs, labelled])
    assert one(attach(r, v)) == (True, "Accepted")


def test_allowed_kinds() -> None:
    lst = listener("a", allowedRoutes={"kinds": [{"kind": "GRPCRoute"}]})
    v = View([gclass(), gateway([lst])])
    assert one(attach(route(), v)) == (False, "NotAllowedByListeners")
    assert one(attach(route(kind="GRPCRoute"), v)) == (True, "Accepted")


def test_listener_not_in_status_or_not_programmed() -> None:
    v = View([gclass(), gateway([listener("a")], programmed=False)])
    assert one(attach(route(), v)) == (False, "NotAllowedByListeners")
    v = View([gclass(), gateway([listener("a")], kinds=("TCPRoute",))])
    assert one(attach(route(), v)) == (False, "NotAllowedByListeners")


def test_section_name_and_port() -> None:
    v = View([gclass(), gateway([listener("a", 80), listener("b", 8080)])])
    att = attach(route({"name": "gw", "sectionName": "b"}), v)
    assert one(att) == (True, "Accepted")
    assert [lst.name for lst in att.parents[0].listeners] == ["b"]
    assert [lst.name for lst in att.parents[0].parent_listeners] == ["b"]
    assert one(attach(route({"name": "gw", "sectionName": "c"}), v)) == (False, "NoMatchingParent")
    assert one(attach(route({"name": "gw", "port": 8080}), v)) == (True, "Accepted")
    assert one(attach(route({"name": "gw", "port": 9999}), v)) == (False, "NoMatchingParent")


@pytest.mark.parametrize(
    ("kind", "protocol", "mode", "ok"),
    [
        ("HTTPRoute", "HTTP", None, True),
        ("HTTPRoute", "HTTPS", "Terminate", True),
        ("HTTPRoute", "HTTPS", "Passthrough", False),
        ("HTTPRoute", "TCP", None, False),
        ("GRPCRoute", "HTTPS", "Terminate", True),
        ("TCPRoute", "TCP", None, True),
        ("TCPRoute", "UDP", None, False),
        ("UDPRoute", "UDP", None, True),
        ("UDPRoute", "UDP", "Terminate", False),
        ("TLSRoute", "TLS", "Passthrough", True),
        ("TLSRoute", "TLS", "Terminate", False),
        ("TLSRoute", "HTTPS", "Passthrough", False),
    ],
)
def test_listener_type_compatibility(kind: str, protocol: str, mode: str | None, ok: bool) -> None:
    lst = listener("a", 443, protocol)
    if mode:
        lst["tls"] = {"mode": mode, "certificateRefs": [{"name": "c"}]}
    v = View([gclass(), gateway([lst])])
    hosts = ["t.example.com"] if kind == "TLSRoute" else None
    att = attach(route(kind=kind, hostnames=hosts), v)
    assert one(att)[0] is ok
    if not ok:
        assert one(att)[1] == "NoMatchingParent"


def test_hostname_mismatch_and_filtering() -> None:
    v = View([gclass(), gateway([listener("a", hostname="*.example.com")])])
    att = attach(route(hostnames=["x.other.com"]), v)
    assert one(att) == (False, "NoMatchingListenerHostname")
    assert att.hostnames is None  # nothing left to serve
    att = attach(route(hostnames=["a.example.com", "x.other.com"]), v)
    assert one(att) == (True, "Accepted") and att.hostnames == ("a.example.com",)
    # route wildcard narrowed to the listener's exact host
    v2 = View([gclass(), gateway([listener("a", hostname="api.example.com")])])
    assert attach(route(hostnames=["*.example.com"]), v2).hostnames == ("api.example.com",)
    # no route hostnames: the listeners' hostnames; any listener without one: any host
    assert attach(route(), v2).hostnames == ("api.example.com",)
    v3 = View([gclass(), gateway([listener("a", hostname="api.example.com"), listener("b", 81)])])
    assert attach(route(), v3).hostnames == ()


def test_several_parents_and_reason_per_parent() -> None:
    v = View(
        [
            gclass(),
            gateway([listener("a")]),
            gateway([listener("b", protocol="TCP")], name="gw2"),
        ]
    )
    att = attach(route([{"name": "gw"}, {"name": "gw2"}, {"name": "missing"}]), v)
    assert [(p.gateway.name, p.accepted, p.reason) for p in att.parents] == [
        ("gw", True, "Accepted"),
        ("gw2", False, "NoMatchingParent"),
    ]
    assert att.gateways[0].name == "gw"


def test_l4_ports_and_passthrough() -> None:
    v = View(
        [
            gclass(),
            gateway(
                [listener("t", 9000, "TCP"), listener("t2", 9001, "TCP"), listener("u", 53, "UDP")]
            ),
        ]
    )
    att = attach(route(kind="TCPRoute"), v)
    assert att.l4_ports("TCP") == (9000, 9001)
    tls = listener("p", 443, "TLS", tls={"mode": "Passthrough"})
    att = attach(
        route(kind="TLSRoute", hostnames=["t.example.com"]), View([gclass(), gateway([tls])])
    )
    assert att.tls_passthrough and att.hostnames == ("t.example.com",)


def test_attachment_assumed_as_upstream_cache() -> None:
    """Golden mode: no GatewayClass, often no Gateway: every Gateway parentRef is accepted."""
    att = attach(route(hostnames=["a.example.com"]), View([]), attachment=False)
    assert one(att) == (True, "Accepted") and att.hostnames == ("a.example.com",)
    assert att.protocols() == ()  # no Gateway: Kong's default protocols
    v = View([gateway([listener("h", 80, "HTTP"), listener("s", 443, "HTTPS")], cls="none")])
    assert attach(route(), v, attachment=False).protocols() == ("http", "https")


def test_gateway_to_reconcile() -> None:
    v = View([gclass(), gateway([listener("a")]), gateway([listener("a")], name="gw2")])
    att = attach(route([{"name": "gw"}, {"name": "gw2"}]), v, gateway_to_reconcile="ns/gw2")
    assert [p.gateway.name for p in att.parents] == ["gw2"]


def _grant(
    ns: str,
    from_kind: str,
    from_ns: str,
    to_kind: str,
    to_name: str | None = None,
    to_group: str = "",
) -> dict[str, Any]:
    to: dict[str, Any] = {"group": to_group, "kind": to_kind}
    if to_name:
        to["name"] = to_name
    return {
        "kind": "ReferenceGrant",
        "apiVersion": f"{GW}/v1beta1",
        "metadata": {"name": f"g-{from_kind}-{to_kind}", "namespace": ns},
        "spec": {"from": [{"group": GW, "kind": from_kind, "namespace": from_ns}], "to": [to]},
    }


def test_grants() -> None:
    v = View([_grant("b", "HTTPRoute", "a", "Service", "svc")])
    deps: set[tuple[str, str, str]] = set()
    assert grant_allows(v, GW, "HTTPRoute", "a", "", "Service", "b", "svc", deps)
    assert deps == {("ReferenceGrant", "b", ANY)}
    assert ANY == HTTPROUTE_ANY  # the translator marks this name for any grant change
    assert not grant_allows(v, GW, "HTTPRoute", "a", "", "Service", "b", "other")
    assert not grant_allows(v, GW, "GRPCRoute", "a", "", "Service", "b", "svc")
    assert not grant_allows(v, GW, "HTTPRoute", "c", "", "Service", "b", "svc")
    assert not grant_allows(v, GW, "HTTPRoute", "a", "", "Secret", "b", "svc")
    assert grant_allows(v, GW, "HTTPRoute", "a", "", "Service", "a", "svc")  # same namespace
    # name unset: any name; "core" is the core group
    v2 = View([_grant("b", "Gateway", "a", "Secret", to_group="core")])
    assert grant_allows(v2, GW, "Gateway", "a", "", "Secret", "b", "anything")


@pytest.mark.parametrize(
    ("a", "b", "meet", "narrow"),
    [
        ("a.example.com", "a.example.com", True, "a.example.com"),
        ("*.example.com", "a.example.com", True, "a.example.com"),
        ("*.example.com", "a.b.example.com", True, "a.b.example.com"),
        ("*.example.com", "example.com", False, None),
        ("*.example.com", "*.a.example.com", True, "*.a.example.com"),
        ("a.example.com", "b.example.com", False, None),
        ("", "a.example.com", True, "a.example.com"),
    ],
)
def test_hostname_intersection(a: str, b: str, meet: bool, narrow: str | None) -> None:
    if a:
        assert hostnames_intersect(a, b) is meet
        assert hostnames_intersect(b, a) is meet
    assert minimum_intersection(a, b) == narrow
