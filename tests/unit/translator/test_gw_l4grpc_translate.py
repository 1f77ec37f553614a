"""GRPCRoute and TCP/UDP/TLS routes -> Kong, as pure functions (translator/_grpcroute.py,
translator/_l4route.py, translator/_gwplan.py): names, paths, expressions, priorities,
destinations, backends, and bad input becoming Failures instead of routes Kong refuses."""

from __future__ import annotations

from typing import Any

from kic_trio._deltas import Upsert
from kic_trio.models import ObjectRef, parse
from kic_trio.models._gateway_api import (
    BackendRef,
    GrantFrom,
    GrantTo,
    GRPCMethodMatch,
    GRPCRoute,
    GRPCRouteMatch,
    GRPCRouteRule,
    HeaderMatch,
    L4RouteRule,
    Listener,
    ParentRef,
    ReferenceGrant,
    TCPRoute,
    TLSRoute,
    UDPRoute,
)
from kic_trio.store import Snapshot, Store
from kic_trio.translator._grpcroute import (
    base_priority,
    relative_orders,
    split_keys,
    translate_grpcroute,
)
from kic_trio.translator._gwattach import ANY
from kic_trio.translator._gwplan import GatewayRouteOut, build_service
from kic_trio.translator._l4route import l4_expression, translate_l4route

GW = "gateway.networking.k8s.io"
EMPTY = Store().snapshot()


def _ref(kind: str, ns: str, name: str, version: str = "v1") -> ObjectRef:
    return ObjectRef(kind, ns, name, "", GW, version)


def _build(out: GatewayRouteOut, snap: Snapshot) -> dict[str, list[dict[str, Any]]]:
    config: dict[str, list[dict[str, Any]]] = {"services": [], "upstreams": []}
    for plan in out.plans:
        built = build_service(plan, snap, cluster_domain="", drain=False, fill_ids=True)
        for kind, _, entity in built.entries:
            config[kind].append(entity)
    return config


def _store(*objects: tuple[str, dict[str, Any]]) -> Snapshot:
    store = Store()
    for kind, raw in objects:
        store.apply(Upsert(kind, parse(kind, raw)))
    return store.snapshot()


def _grpcbin() -> GRPCRoute:
    def rule(i: int, name: str, method: str) -> GRPCRouteRule:
        return GRPCRouteRule(
            index=i,
            name=name,
            matches=(GRPCRouteMatch(0, GRPCMethodMatch(service="grpcbin.GRPCBin", method=method)),),
            backend_refs=(BackendRef(0, "grpcbin", port=443),),
        )

    return GRPCRoute(
        ref=_ref("GRPCRoute", "default", "grpcbin"),
        parent_refs=(ParentRef(0, "kong"),),
        hostnames=("example.com",),
        rules=(
            rule(0, "grpcbin-dummy-unary", "DummyUnary"),
            rule(1, "grpcbin-default", "Default"),
            rule(2, "", "Get"),
        ),
    )


def test_grpcroute_traditional_is_upstreams_example() -> None:
    """gateway-api.md §6 (golden grpcroute-example): a service per rule, a regex path per
    method match, every named-rule tag on every route, kind-less backends dropped -> 500."""
    out = translate_grpcroute(_grpcbin(), (), EMPTY, expressions=False, fill_ids=True)
    assert out.failures == ()
    config = _build(out, EMPTY)
    names = sorted(s["name"] for s in config["services"])
    assert names == [f"grpcroute.default.grpcbin.{i}" for i in range(3)]
    svc = next(s for s in config["services"] if s["name"].endswith(".2"))
    assert svc["protocol"] == "grpcs"  # no parent Gateway with an HTTP listener
    assert svc["id"] == "20d53c70-e92e-57d7-85a4-265209989fd2"
    assert svc["plugins"][0]["config"] == {
        "status_code": 500,
        "message": "no existing backendRef provided",
    }
    (route,) = svc["routes"]
    assert route["id"] == "f036508e-e749-5b7c-ac09-70e771daff5f"
    assert route["paths"] == ["~/grpcbin.GRPCBin/Get"]
    assert route["protocols"] == ["grpc", "grpcs"]
    assert route["hosts"] == ["example.com"]
    assert route["tags"][-2:] == [
        "k8s-named-route-rule:grpcbin-dummy-unary",
        "k8s-named-route-rule:grpcbin-default",
    ]
    assert "port" not in svc and "targets" not in config["upstreams"][0]


def test_grpcroute_expressions_priority_and_expression() -> None:
    """§9.2: one service per (hostname x rule), upstream's expression and priority."""
    route = _grpcbin()
    orders = relative_orders(split_keys(route))
    out = translate_grpcroute(
        route,
        (),
        EMPTY,
        expressions=True,
        fill_ids=True,
        relative=lambda base, key: orders[(base, key)],
    )
    config = _build(out, EMPTY)
    by_name = {s["name"]: s for s in config["services"]}
    (r2,) = by_name["grpcroute.default.grpcbin.example.com.2"]["routes"]
    assert (
        r2["expression"] == '(http.path == "/grpcbin.GRPCBin/Get") && (http.host == "example.com")'
    )
    assert r2["priority"] == 26766487871743
    assert r2["preserve_host"] is True
    assert "protocols" not in r2  # no parent listener
    (r0,) = by_name["grpcroute.default.grpcbin.example.com.0"]["routes"]
    assert r0["priority"] == 26766487929087
    assert r0["id"] == "b23f135f-8d7e-54cb-96eb-f2579ef1608b"


def test_grpc_relative_order_breaks_ties_oldest_first() -> None:
    """Equal base priorities: oldest (then namespace, name, rule, match) gets 255, next 254."""
    keys = [
        (7, ("2024-01-02", "a", "r", 0, 0)),
        (7, ("2024-01-01", "b", "r", 0, 0)),
        (9, ("z", "a", "r", 0, 0)),
    ]
    orders = relative_orders(keys)
    assert orders[(7, ("2024-01-01", "b", "r", 0, 0))] == 255
    assert orders[(7, ("2024-01-02", "a", "r", 0, 0))] == 254
    assert orders[(9, ("z", "a", "r", 0, 0))] == 255


def test_grpc_method_expressions_per_upstream() -> None:
    from kic_trio.translator._grpcroute import method_expression, traditional_path

    assert method_expression(GRPCMethodMatch(service="S")) == 'http.path ^= "/S/"'
    assert method_expression(GRPCMethodMatch(method="M")) == 'http.path =^ "/M"'
    assert method_expression(GRPCMethodMatch()) == 'http.path ^= "/"'
    assert (
        method_expression(GRPCMethodMatch(type="RegularExpression", method="M.*"))
        == 'http.path ~ "^/.+/M.*"'
    )
    assert traditional_path(GRPCMethodMatch(method="M")) == "~/.+/M"
    assert traditional_path(GRPCMethodMatch(service="S")) == "~/S/"
    assert traditional_path(GRPCMethodMatch(type="RegularExpression", service="S")) == "~/S/.+"
    assert base_priority("", None) == 1 << 44


def test_grpc_regex_header_is_a_regex_and_listener_protocol_sets_grpc() -> None:
    """Deliberate difference: a RegularExpression header is matched as a regex (upstream: exact).
    A parent HTTP listener makes the service ``grpc``; listener hostnames fill ``hosts``."""
    route = GRPCRoute(
        ref=_ref("GRPCRoute", "ns", "r"),
        rules=(
            GRPCRouteRule(
                index=0,
                matches=(
                    GRPCRouteMatch(0, headers=(HeaderMatch("x-v", "a.*", "RegularExpression"),)),
                ),
            ),
        ),
    )
    listeners = (Listener(0, "http", 80, "HTTP", hostname="grpc.example"),)
    out = translate_grpcroute(route, listeners, EMPTY, expressions=False, fill_ids=False)
    config = _build(out, EMPTY)
    (svc,) = config["services"]
    assert svc["protocol"] == "grpc"
    assert svc["routes"][0]["headers"] == {"x-v": ["~*a.*"]}
    assert svc["routes"][0]["hosts"] == ["grpc.example"]
    assert "plugins" not in svc  # no backendRefs at all: nothing was dropped
    expr = translate_grpcroute(route, listeners, EMPTY, expressions=True, fill_ids=False)
    (plan,) = expr.plans
    kong = plan.routes[0].route
    assert kong["expression"] == 'http.headers.x_v ~ "a.*"'
    assert kong["protocols"] == ["grpc"]


def test_grpc_hostile_method_is_a_failure_not_a_regex() -> None:
    route = GRPCRoute(
        ref=_ref("GRPCRoute", "ns", "r"),
        rules=(
            GRPCRouteRule(
                index=0,
                matches=(GRPCRouteMatch(0, GRPCMethodMatch(service="a(b", method="M")),),
            ),
            GRPCRouteRule(index=1, matches=(GRPCRouteMatch(0, GRPCMethodMatch(method="Ok")),)),
        ),
    )
    out = translate_grpcroute(route, (), EMPTY, expressions=False, fill_ids=False)
    assert [f.field for f in out.failures] == ["spec.rules[0].matches[0].method"]
    assert [p.name for p in out.plans] == ["grpcroute.ns.r.1"]
    assert "a(b" not in str(out.failures)


def test_grpc_without_rules_fails_on_the_route() -> None:
    route = GRPCRoute(ref=_ref("GRPCRoute", "ns", "r"))
    out = translate_grpcroute(route, (), EMPTY, expressions=False, fill_ids=False)
    assert out.plans == () and out.failures[0].field == "spec.rules"


def _tcp(ns: str = "tcp-namespace", refs: tuple[BackendRef, ...] | None = None) -> TCPRoute:
    return TCPRoute(
        ref=_ref("TCPRoute", ns, "echo-plaintext", "v1alpha2"),
        parent_refs=(ParentRef(0, "example-tcp-gateway", namespace="tcp-example"),),
        rules=(L4RouteRule(0, backend_refs=refs or (BackendRef(0, "echo", port=1025),)),),
    )


TCP_LISTENERS = (Listener(0, "tcp", 1025, "TCP"), Listener(1, "http", 80, "HTTP"))


def test_tcproute_both_flavors_are_upstreams_example() -> None:
    """§7, §9.3 (golden tcproute-example): destinations from the TCP listener ports."""
    out = translate_l4route(_tcp(), TCP_LISTENERS, EMPTY, expressions=False, fill_ids=True)
    config = _build(out, EMPTY)
    (svc,) = config["services"]
    assert svc["name"] == svc["host"] == "tcproute.tcp-namespace.echo-plaintext.0"
    assert svc["id"] == "e2302e1e-0a75-5174-82f3-c0bc379a108a"
    assert svc["protocol"] == "tcp" and "plugins" not in svc and "port" not in svc
    (route,) = svc["routes"]
    assert route["destinations"] == [{"port": 1025}]
    assert route["protocols"] == ["tcp"]
    assert route["id"] == "499ad8b6-ea05-5418-b1b7-7386a13d333b"
    expr = translate_l4route(_tcp(), TCP_LISTENERS, EMPTY, expressions=True, fill_ids=True)
    kong = expr.plans[0].routes[0].route
    assert kong["expression"] == "net.dst.port == 1025" and kong["priority"] == 1
    assert "destinations" not in kong and "path_handling" not in kong


def test_udproute_keeps_timeouts_and_named_rule_tag() -> None:
    route = UDPRoute(
        ref=_ref("UDPRoute", "udp-example", "tftp", "v1alpha2"),
        rules=(L4RouteRule(0, name="rule-tftp", backend_refs=(BackendRef(0, "tftp", port=9999),)),),
    )
    out = translate_l4route(
        route, (Listener(0, "udp", 9999, "UDP"),), EMPTY, expressions=False, fill_ids=True
    )
    (svc,) = _build(out, EMPTY)["services"]
    assert svc["protocol"] == "udp" and svc["read_timeout"] == 60000 and svc["retries"] == 5
    assert svc["routes"][0]["tags"][-1] == "k8s-named-route-rule:rule-tftp"
    assert svc["routes"][0]["destinations"] == [{"port": 9999}]


def test_tlsroute_passthrough_and_expression() -> None:
    route = TLSRoute(
        ref=_ref("TLSRoute", "ns", "t", "v1alpha2"),
        hostnames=("tls9443.kong.example",),
        rules=(L4RouteRule(0, backend_refs=(BackendRef(0, "s", kind="Service", port=9443),)),),
    )
    passthrough = (Listener(0, "tls", 9443, "TLS", tls_mode="Passthrough"),)
    out = translate_l4route(route, passthrough, EMPTY, expressions=False, fill_ids=False)
    kong = out.plans[0].routes[0].route
    assert kong["protocols"] == ["tls_passthrough"] and kong["snis"] == ["tls9443.kong.example"]
    expr = translate_l4route(route, passthrough, EMPTY, expressions=True, fill_ids=False)
    assert expr.plans[0].routes[0].route["expression"] == 'tls.sni == "tls9443.kong.example"'
    # the Service does not exist: reported, the service still answers (no targets)
    assert [f.field for f in out.failures] == ["spec.rules[0].backendRefs[0]"]
    assert (
        l4_expression(["a", "b"], [1])
        == '((tls.sni == "a") || (tls.sni == "b")) && (net.dst.port == 1)'
    )


def test_l4_without_listener_port_or_backend_refs_fails_instead_of_an_unmatchable_route() -> None:
    out = translate_l4route(_tcp(), (), EMPTY, expressions=False, fill_ids=False)
    assert out.plans == () and out.failures[0].field == "spec.parentRefs"
    empty = TCPRoute(
        ref=_ref("TCPRoute", "ns", "r", "v1alpha2"),
        rules=(L4RouteRule(0), L4RouteRule(1, backend_refs=(BackendRef(0, "x", port=1),))),
    )
    out = translate_l4route(empty, TCP_LISTENERS, EMPTY, expressions=False, fill_ids=False)
    assert [p.name for p in out.plans] == ["tcproute.ns.r.1"]
    assert out.failures[0].field == "spec.rules[0]"


SERVICE = (
    "Service",
    {
        "metadata": {"name": "echo", "namespace": "other", "uid": "u-echo"},
        "spec": {"ports": [{"port": 1025, "name": "tcp", "protocol": "TCP"}]},
    },
)
SLICE = (
    "EndpointSlice",
    {
        "metadata": {
            "name": "echo-1",
            "namespace": "other",
            "labels": {"kubernetes.io/service-name": "echo"},
        },
        "addressType": "IPv4",
        "ports": [{"name": "tcp", "port": 1025}],
        "endpoints": [{"addresses": ["10.0.0.7"]}],
    },
)


def test_cross_namespace_backend_needs_a_reference_grant() -> None:
    """§5.4: a Service in another namespace is used only when a ReferenceGrant allows it."""
    refs = (BackendRef(0, "echo", kind="Service", namespace="other", port=1025),)
    snap = _store(SERVICE, SLICE)
    out = translate_l4route(_tcp(refs=refs), TCP_LISTENERS, snap, expressions=False, fill_ids=False)
    assert out.plans[0].backends == ()
    assert "ReferenceGrant" in out.failures[0].reason
    assert ("ReferenceGrant", "other", ANY) in out.deps
    grant = ReferenceGrant(
        ref=ObjectRef("ReferenceGrant", "other", "g", "", GW, "v1beta1"),
        from_=(GrantFrom(GW, "TCPRoute", "tcp-namespace"),),
        to=(GrantTo("", "Service"),),
    )
    snap = snap.with_objects([("ReferenceGrant", grant)])
    out = translate_l4route(_tcp(refs=refs), TCP_LISTENERS, snap, expressions=False, fill_ids=False)
    assert out.failures == ()
    (svc,) = _build(out, snap)["services"]
    assert svc["port"] == 1025 and svc["host"] == "tcproute.tcp-namespace.echo-plaintext.0"
    assert svc["protocol"] == "tcp" and "path" not in svc
    assert "k8s-uid:u-echo" in svc["tags"]
    upstream = _build(out, snap)["upstreams"][0]
    assert upstream["name"] == svc["name"]
    assert upstream["targets"] == [{"target": "10.0.0.7:1025"}]
    assert ("Service", "other", "echo") in out.deps


# --- the stage: one unit per route, GRPCRoute priority groups, status when attached ------------


def _run_stage(
    gs: Any, snap: Snapshot, dirty: set[tuple[str, str, str]], **kw: Any
) -> dict[Any, Any]:
    from kic_trio.translator._gwl4grpc_stage import stage_gw_l4grpc

    got: dict[Any, Any] = {}

    def record(unit: Any, out: Any, routes: Any) -> None:
        got[unit.key] = out

    def crashed(ref: ObjectRef, exc: BaseException) -> Any:
        raise AssertionError(f"unit guard fired: {exc!r}")

    stage_gw_l4grpc(
        gs,
        snap,
        dirty,
        record,
        crashed,
        expressions=kw.pop("expressions", True),
        fill_ids=False,
        cluster_domain="",
        drain=False,
        **kw,
    )
    return got


def _priorities(out: Any) -> dict[str, int]:
    return {
        r["name"]: r["priority"]
        for kind, _, e in out.entries
        if kind == "services"
        for r in e["routes"]
    }


def test_an_older_grpcroute_with_the_same_base_recomputes_the_other() -> None:
    """Relative order is among every GRPCRoute of equal base: adding an older one moves the
    first to 254, and only routes of that group are recomputed."""
    from kic_trio.translator._gwl4grpc_stage import GwRouteState

    def grpc(name: str, created: str, method: str = "M") -> GRPCRoute:
        return GRPCRoute(
            ref=_ref("GRPCRoute", "ns", name),
            created=created,
            rules=(
                GRPCRouteRule(
                    0, matches=(GRPCRouteMatch(0, GRPCMethodMatch("Exact", "S", method)),)
                ),
            ),
        )

    gs = GwRouteState()
    snap = EMPTY.with_objects([("GRPCRoute", grpc("b", "2024-02-01"))])
    got = _run_stage(gs, snap, {("GRPCRoute", "ns", "b")})
    base = 1 << 44 | 1 << 24 | 1 << 13
    assert _priorities(got[("GRPCRoute", "ns", "b")]) == {"grpcroute.ns.b._.0.0": base + 255}
    snap = snap.with_objects(
        [("GRPCRoute", grpc("a", "2024-01-01")), ("GRPCRoute", grpc("c", "2024-03-01", "Other"))]
    )
    got = _run_stage(gs, snap, {("GRPCRoute", "ns", "a"), ("GRPCRoute", "ns", "c")})
    assert set(got) == {("GRPCRoute", "ns", n) for n in "abc"}  # b is in a's group
    assert _priorities(got[("GRPCRoute", "ns", "a")]) == {"grpcroute.ns.a._.0.0": base + 255}
    assert _priorities(got[("GRPCRoute", "ns", "b")]) == {"grpcroute.ns.b._.0.0": base + 254}


def test_attached_route_gets_parent_status_and_unaccepted_is_not_served() -> None:
    from kic_trio.translator._gwattach import ParentAttachment, RouteAttachment
    from kic_trio.translator._gwl4grpc_stage import GwRouteState

    gw = _ref("Gateway", "tcp-example", "example-tcp-gateway")
    pref = _tcp().parent_refs[0]
    snap = EMPTY.with_objects([("TCPRoute", _tcp())])
    key = ("TCPRoute", "tcp-namespace", "echo-plaintext")
    ok = RouteAttachment(
        (ParentAttachment(pref, gw, True, "Accepted", TCP_LISTENERS[:1], TCP_LISTENERS),)
    )
    out = _run_stage(GwRouteState(), snap, {key}, attached=lambda r, deps: ok)[key]
    status = out.status[_tcp().ref]
    assert status.parent == gw
    assert [(c.type, c.status, c.reason) for c in status.conditions] == [
        ("Accepted", "True", "Accepted"),
        ("ResolvedRefs", "True", "ResolvedRefs"),
        ("Programmed", "True", "ConfiguredInGateway"),
    ]
    no = RouteAttachment((ParentAttachment(pref, gw, False, "NotAllowedByListeners"),), None)
    refused = _run_stage(GwRouteState(), snap, {key}, attached=lambda r, deps: no)[key]
    assert refused.entries == ()
    (cond, *_) = refused.status[_tcp().ref].conditions
    assert (cond.status, cond.reason) == ("False", "NotAllowedByListeners")
    assert _run_stage(GwRouteState(), snap, {key}, attached=lambda r, deps: None)[key].entries == ()


# --- through the whole translator: manifests in, Kong config out -------------------------------


def _translate(objects: list[dict[str, Any]], **opts: Any) -> Any:
    from kic_trio.translator import TranslatorOptions, translate_objects

    opts.setdefault("gateway_attachment", False)
    return translate_objects(objects, TranslatorOptions(**opts))


def _grpc_manifest(annotations: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": f"{GW}/v1",
        "kind": "GRPCRoute",
        "metadata": {"name": "g", "namespace": "ns", "annotations": annotations},
        "spec": {
            "hostnames": ["grpc.example"],
            "rules": [
                {
                    "matches": [{"method": {"service": "echo.Echo", "method": "Say"}}],
                    "backendRefs": [{"kind": "Service", "name": "echo", "port": 80}],
                }
            ],
        },
    }


ECHO = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "echo", "namespace": "ns"},
    "spec": {"ports": [{"port": 80, "name": "http"}]},
}


def test_grpcroute_route_annotations_and_plugins_apply_to_each_kong_route() -> None:
    plugin = {
        "apiVersion": "configuration.konghq.com/v1",
        "kind": "KongPlugin",
        "metadata": {"name": "rl", "namespace": "ns"},
        "plugin": "rate-limiting",
        "config": {"minute": 5},
    }
    result = _translate(
        [
            _grpc_manifest({"konghq.com/plugins": "rl", "konghq.com/protocols": "grpcs"}),
            ECHO,
            plugin,
        ]
    )
    (svc,) = [s for s in result.config["services"] if s["name"] == "grpcroute.ns.g.0"]
    (route,) = svc["routes"]
    assert route["protocols"] == ["grpcs"]
    assert svc["host"] == "grpcroute.ns.g.0" and svc["port"] == 80
    plugins = [p for p in result.config.get("plugins", []) if p["name"] == "rate-limiting"]
    plugins += [p for p in route.get("plugins", []) if p["name"] == "rate-limiting"]
    assert len(plugins) == 1, result.config
    assert result.failures == ()


def test_a_missing_plugin_leaves_the_grpc_route_out_fail_closed() -> None:
    result = _translate([_grpc_manifest({"konghq.com/plugins": "missing"}), ECHO])
    routes = [r["name"] for s in result.config.get("services", []) for r in s.get("routes", [])]
    assert "grpcroute.ns.g.0.0" not in routes
    assert any("missing" in f.reason for f in result.failures)


def _managed_gateway(listeners: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A GatewayClass of ours (managed) and a Gateway another component accepted, with its
    listeners Programmed in status, as upstream requires before it serves a route."""
    kinds = {"HTTP": "GRPCRoute", "TCP": "TCPRoute", "UDP": "UDPRoute"}
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
            "metadata": {"name": "kong", "namespace": "ns", "generation": 1},
            "spec": {"gatewayClassName": "kong", "listeners": listeners},
            "status": {
                "conditions": [
                    {
                        "type": "Accepted",
                        "status": "True",
                        "reason": "Accepted",
                        "observedGeneration": 1,
                    }
                ],
                "listeners": [
                    {
                        "name": lst["name"],
                        "supportedKinds": [{"group": GW, "kind": kinds[lst["protocol"]]}],
                        "attachedRoutes": 0,
                        "conditions": [
                            {
                                "type": "Programmed",
                                "status": "True",
                                "reason": "Programmed",
                                "observedGeneration": 1,
                            }
                        ],
                    }
                    for lst in listeners
                ],
            },
        },
    ]


def test_attached_routes_are_served_with_parent_status_and_others_are_not() -> None:
    """With gateway attachment (the controller): a route accepted by one of our Gateways is
    served and carries Accepted/ResolvedRefs/Programmed for that parent; a route naming a
    listener of another protocol is not served and says why."""
    gw = _managed_gateway(
        [
            {"name": "http", "protocol": "HTTP", "port": 80},
            {"name": "tcp", "protocol": "TCP", "port": 9000},
        ]
    )
    grpc = _grpc_manifest({})
    grpc["spec"]["parentRefs"] = [{"name": "kong"}]
    tcp_wrong = {
        "apiVersion": f"{GW}/v1alpha2",
        "kind": "TCPRoute",
        "metadata": {"name": "t", "namespace": "ns"},
        "spec": {
            "parentRefs": [{"name": "kong", "sectionName": "http"}],
            "rules": [{"backendRefs": [{"kind": "Service", "name": "echo", "port": 80}]}],
        },
    }
    result = _translate([*gw, grpc, tcp_wrong, ECHO], gateway_attachment=True)
    names = [s["name"] for s in result.config.get("services", [])]
    assert "grpcroute.ns.g.0" in names and not any(n.startswith("tcproute.") for n in names)
    svc = next(s for s in result.config["services"] if s["name"] == "grpcroute.ns.g.0")
    assert svc["protocol"] == "grpc"  # the accepting Gateway has an HTTP listener
    by_kind = {ref.kind: st for ref, st in result.status.items()}
    grpc_status = by_kind["GRPCRoute"]
    assert grpc_status.parent is not None and grpc_status.parent.name == "kong"
    assert [(c.type, c.status, c.reason) for c in grpc_status.conditions] == [
        ("Accepted", "True", "Accepted"),
        ("ResolvedRefs", "True", "ResolvedRefs"),
        ("Programmed", "True", "ConfiguredInGateway"),
    ]
    (accepted, *_) = by_kind["TCPRoute"].conditions
    assert (accepted.status, accepted.reason) == ("False", "NoMatchingParent")
    # a route naming no Gateway of ours: not served, no status of ours
    lone = _grpc_manifest({})
    lone["metadata"]["name"] = "lone"
    lone["spec"]["parentRefs"] = [{"name": "someone-elses"}]
    result = _translate([*gw, lone, ECHO], gateway_attachment=True)
    assert not any(
        s["name"].startswith("grpcroute.ns.lone") for s in result.config.get("services", [])
    )
    assert not any(ref.name == "lone" for ref in result.status)


def test_a_large_priority_group_recomputes_only_routes_whose_order_moved() -> None:
    """300 GRPCRoutes of one base: adding an older one shifts the first 255 (the rest are at
    relative order 0 already), so the stage recomputes 256 routes, not 301."""
    from kic_trio.translator._gwl4grpc_stage import GwRouteState

    def grpc(name: str, created: str) -> tuple[str, GRPCRoute]:
        return (
            "GRPCRoute",
            GRPCRoute(
                ref=_ref("GRPCRoute", "ns", name),
                created=created,
                rules=(
                    GRPCRouteRule(
                        0, matches=(GRPCRouteMatch(0, GRPCMethodMatch("Exact", "S", "M")),)
                    ),
                ),
            ),
        )

    gs = GwRouteState()
    routes = [grpc(f"r{i:03d}", f"2024-02-01T00:{i // 60:02d}:{i % 60:02d}Z") for i in range(300)]
    snap = EMPTY.with_objects(routes)
    _run_stage(gs, snap, {("GRPCRoute", "ns", r.ref.name) for _, r in routes})
    snap = snap.with_objects([grpc("old", "2024-01-01T00:00:00Z")])
    got = _run_stage(gs, snap, {("GRPCRoute", "ns", "old")})
    assert len(got) == 256 and ("GRPCRoute", "ns", "r254") in got
    assert ("GRPCRoute", "ns", "r255") not in got  # was 0, stays 0
    assert _priorities(got[("GRPCRoute", "ns", "old")]) == {
        "grpcroute.ns.old._.0.0": (1 << 44 | 1 << 24 | 1 << 13) + 255
    }
