"""GatewayClass and Gateway status as translator output (translator/_gateways.py): upstream's
conditions and reasons (gateway-api.md §2-3.4), attachedRoutes kept incrementally."""

from __future__ import annotations

import base64
from typing import Any

from strategies import PAIRS

from kic_trio.models import ListenerStatus, ObjectStatus
from kic_trio.translator import TranslatorOptions, translate_objects

GW = "gateway.networking.k8s.io"
OPTS = TranslatorOptions(
    publish_services=("kong/proxy",),
    kong_proxy_listeners=((8000, False), (8443, True)),
    kong_stream_listeners=((9000, False),),
)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


CLASS = {
    "apiVersion": f"{GW}/v1",
    "kind": "GatewayClass",
    "metadata": {
        "name": "kong",
        "generation": 2,
        "annotations": {"konghq.com/gatewayclass-unmanaged": "true"},
    },
    "spec": {"controllerName": "konghq.com/kic-gateway-controller"},
}
PROXY = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "proxy", "namespace": "kong"},
    "spec": {
        "clusterIPs": ["10.0.0.10"],
        "ports": [
            {"name": "http", "port": 80, "targetPort": 8000},
            {"name": "https", "port": 443, "targetPort": 8443},
            {"name": "tcp", "port": 9000, "targetPort": 9000},
        ],
    },
}


def secret(name: str, ns: str = "ns", good: bool = True) -> dict[str, Any]:
    cert, key = PAIRS[0]
    other_key = PAIRS[1][1]
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {"name": name, "namespace": ns, "uid": f"uid-{name}"},
        "data": {"tls.crt": _b64(cert), "tls.key": _b64(key if good else other_key)},
    }


def gateway(listeners: list[dict[str, Any]], name: str = "gw") -> dict[str, Any]:
    return {
        "apiVersion": f"{GW}/v1",
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": "ns", "generation": 5},
        "spec": {"gatewayClassName": "kong", "listeners": listeners},
    }


def route(name: str, section: str = "") -> dict[str, Any]:
    ref: dict[str, Any] = {"name": "gw"}
    if section:
        ref["sectionName"] = section
    return {
        "apiVersion": f"{GW}/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": "ns", "generation": 1},
        "spec": {"parentRefs": [ref], "rules": [{}]},
    }


def https(name: str, cert: str, port: int = 443, **kw: Any) -> dict[str, Any]:
    return {
        "name": name,
        "port": port,
        "protocol": "HTTPS",
        "tls": {"mode": "Terminate", "certificateRefs": [{"name": cert, **kw}]},
    }


def statuses(
    objs: list[dict[str, Any]], opts: TranslatorOptions = OPTS
) -> dict[tuple[str, str], ObjectStatus]:
    result = translate_objects(objs, opts)
    return {(r.kind, r.name): s for r, s in result.status.items()}


def conds(obj: ObjectStatus | ListenerStatus) -> set[tuple[str, str, str]]:
    return {(c.type, c.status, c.reason) for c in obj.conditions}


def by_listener(s: ObjectStatus) -> dict[str, ListenerStatus]:
    return {lst.name: lst for lst in s.listeners}


PROGRAMMED = {
    ("Accepted", "True", "Accepted"),
    ("Conflicted", "False", "NoConflicts"),
    ("ResolvedRefs", "True", "ResolvedRefs"),
    ("Programmed", "True", "Programmed"),
}


def test_class_accepted_and_gateway_programmed_with_listeners() -> None:
    gw = gateway(
        [
            {"name": "http", "port": 80, "protocol": "HTTP"},
            https("https", "cert"),
            {"name": "tcp", "port": 9000, "protocol": "TCP"},
        ]
    )
    st = statuses([CLASS, PROXY, secret("cert"), gw, route("r1"), route("r2", "http")])
    cls = st[("GatewayClass", "kong")]
    assert conds(cls) == {("Accepted", "True", "Accepted")} and cls.generation == 2
    g = st[("Gateway", "gw")]
    assert conds(g) == {("Accepted", "True", "Accepted"), ("Programmed", "True", "Programmed")}
    assert g.generation == 5
    assert g.addresses == (("IPAddress", "10.0.0.10"),)
    ls = by_listener(g)
    assert conds(ls["http"]) == PROGRAMMED and conds(ls["https"]) == PROGRAMMED
    assert conds(ls["tcp"]) == PROGRAMMED
    assert ls["http"].supported_kinds == ((GW, "HTTPRoute"), (GW, "GRPCRoute"))
    assert ls["tcp"].supported_kinds == ((GW, "TCPRoute"),)
    assert (ls["http"].attached_routes, ls["https"].attached_routes) == (2, 1)
    assert ls["tcp"].attached_routes == 0


def test_bad_certificate_fails_only_its_listener() -> None:
    gw = gateway(
        [
            {"name": "http", "port": 80, "protocol": "HTTP"},
            https("missing", "nope"),
            https("bad", "badpair", hostname="b.example.com"),
        ]
    )
    gw["spec"]["listeners"][2]["hostname"] = "b.example.com"
    gw["spec"]["listeners"][2]["tls"]["certificateRefs"][0].pop("hostname", None)
    st = statuses([CLASS, PROXY, secret("badpair", good=False), gw])
    ls = by_listener(st[("Gateway", "gw")])
    assert conds(ls["http"]) == PROGRAMMED
    for name in ("missing", "bad"):
        assert conds(ls[name]) == {
            ("ResolvedRefs", "False", "InvalidCertificateRef"),
            ("Programmed", "False", "Invalid"),
            ("Accepted", "True", "Accepted"),
        }, name


def test_cross_namespace_certificate_needs_a_grant() -> None:
    gw = gateway([https("https", "cert", namespace="certs")])
    base = [CLASS, PROXY, secret("cert", ns="certs"), gw]
    ls = by_listener(statuses(base)[("Gateway", "gw")])
    assert ("ResolvedRefs", "False", "RefNotPermitted") in conds(ls["https"])
    grant = {
        "apiVersion": f"{GW}/v1beta1",
        "kind": "ReferenceGrant",
        "metadata": {"name": "g", "namespace": "certs"},
        "spec": {
            "from": [{"group": GW, "kind": "Gateway", "namespace": "ns"}],
            "to": [{"group": "", "kind": "Secret"}],
        },
    }
    ls = by_listener(statuses([*base, grant])[("Gateway", "gw")])
    assert conds(ls["https"]) == PROGRAMMED


def test_unsupported_protocol_port_unavailable_and_conflicts() -> None:
    gw = gateway(
        [
            {"name": "udp", "port": 53, "protocol": "UDP"},
            {"name": "http81", "port": 81, "protocol": "HTTP"},
            {"name": "a", "port": 80, "protocol": "HTTP", "hostname": "a.example.com"},
            {"name": "a2", "port": 80, "protocol": "HTTP", "hostname": "a.example.com"},
            {"name": "t", "port": 443, "protocol": "HTTPS", "tls": {"certificateRefs": []}},
            {"name": "tcp443", "port": 443, "protocol": "TCP"},
        ]
    )
    ls = by_listener(statuses([CLASS, PROXY, gw])[("Gateway", "gw")])
    assert ("Accepted", "False", "UnsupportedProtocol") in conds(ls["udp"])
    assert ("Accepted", "False", "PortUnavailable") in conds(ls["http81"])
    assert ("Programmed", "False", "Invalid") in conds(ls["udp"])
    for name in ("a", "a2"):  # the first listener on that port+hostname is hit too
        assert ("Conflicted", "True", "HostnameConflict") in conds(ls[name]), name
        assert ("Programmed", "False", "Invalid") in conds(ls[name])
    for name in ("t", "tcp443"):
        assert ("Conflicted", "True", "ProtocolConflict") in conds(ls[name]), name
    msgs = {c.reason: c.message for c in ls["udp"].conditions}
    assert msgs["UnsupportedProtocol"] == "no Kong listen with the requested protocol is configured"


def test_route_kinds_refused_and_grpc_accepted() -> None:
    gw = gateway(
        [
            {
                "name": "http",
                "port": 80,
                "protocol": "HTTP",
                "allowedRoutes": {"kinds": [{"kind": "GRPCRoute"}, {"kind": "TCPRoute"}]},
            }
        ]
    )
    ls = by_listener(statuses([CLASS, PROXY, gw])[("Gateway", "gw")])
    assert ls["http"].supported_kinds == ((GW, "GRPCRoute"),)
    assert ("ResolvedRefs", "False", "InvalidRouteKinds") in conds(ls["http"])


def test_managed_and_foreign_classes_get_no_gateway_status() -> None:
    managed = {**CLASS, "metadata": {"name": "kong", "generation": 1}}
    st = statuses([managed, PROXY, gateway([{"name": "h", "port": 80, "protocol": "HTTP"}])])
    assert ("GatewayClass", "kong") in st and ("Gateway", "gw") not in st
    other = {**CLASS, "spec": {"controllerName": "example.com/other"}}
    st = statuses([other, PROXY, gateway([{"name": "h", "port": 80, "protocol": "HTTP"}])])
    assert st == {}


def test_no_publish_service_means_pending() -> None:
    st = statuses([CLASS, gateway([{"name": "h", "port": 80, "protocol": "HTTP"}])])
    g = st[("Gateway", "gw")]
    assert ("Programmed", "False", "Pending") in conds(g)
    assert ("Accepted", "False", "UnsupportedProtocol") in conds(by_listener(g)["h"])


def test_publish_status_address_overrides() -> None:
    opts = TranslatorOptions(
        publish_services=("kong/proxy",),
        publish_addresses=("1.2.3.4", "lb.example.com"),
        kong_proxy_listeners=((8000, False),),
    )
    g = statuses([CLASS, PROXY, gateway([{"name": "h", "port": 80, "protocol": "HTTP"}])], opts)
    assert g[("Gateway", "gw")].addresses == (
        ("IPAddress", "1.2.3.4"),
        ("Hostname", "lb.example.com"),
    )


def _ingress_tls(host: str, secret_name: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "ing", "namespace": "ns", "creationTimestamp": "2020-01-01T00:00:00Z"},
        "spec": {
            "ingressClassName": "kong",
            "tls": [{"hosts": [host], "secretName": secret_name}],
            "rules": [{"host": host}],
        },
    }


def _certs(objs: list[dict[str, Any]]) -> dict[str, list[str]]:
    result = translate_objects(objs, OPTS)
    return {
        c["id"]: [s["name"] if isinstance(s, dict) else s for s in c["snis"]]
        for c in result.config.get("certificates", [])
    }


def test_listener_certificates_become_kong_certificates_after_ingress_ones() -> None:
    cert_b = secret("other")
    cert_b["data"]["tls.crt"], cert_b["data"]["tls.key"] = (
        _b64(PAIRS[1][0]),
        _b64(PAIRS[1][1]),
    )
    gw = gateway(
        [
            https("a", "cert", port=443) | {"hostname": "a.example.com"},
            https("star", "other", port=443),
            https("b", "cert", port=443) | {"hostname": "b.example.com"},
        ]
    )
    base = [CLASS, PROXY, secret("cert"), cert_b, gw]
    assert _certs(base) == {"uid-cert": ["a.example.com", "b.example.com"], "uid-other": ["*"]}
    # an Ingress claiming b.example.com with another Secret keeps it (Ingress certificates first)
    got = _certs([*base, _ingress_tls("b.example.com", "other")])
    assert got == {"uid-other": ["*", "b.example.com"], "uid-cert": ["a.example.com"]}


def test_more_than_one_certificate_ref_is_a_failure_on_the_gateway() -> None:
    lst = https("two", "cert")
    lst["tls"]["certificateRefs"].append({"name": "cert2"})
    result = translate_objects(
        [CLASS, PROXY, secret("cert"), secret("cert2"), gateway([lst])], OPTS
    )
    assert [f.reason for f in result.failures if f.obj.kind == "Gateway"] == [
        "listener '%s' has more than one certificateRef, it's not supported"
    ]
    assert "certificates" not in result.config or not result.config["certificates"]


def test_gateway_with_no_accepted_listener_is_not_accepted() -> None:
    # conformance GatewayListenerUnsupportedProtocol: the spec's ListenersNotValid reasons
    only_bad = gateway([{"name": "invalid", "port": 1111, "protocol": "INVALID"}], name="bad")
    mixed = gateway(
        [
            {"name": "http", "port": 80, "protocol": "HTTP"},
            {"name": "invalid", "port": 1111, "protocol": "INVALID"},
        ],
        name="mixed",
    )
    st = statuses([CLASS, PROXY, only_bad, mixed])
    assert conds(st[("Gateway", "bad")]) == {
        ("Accepted", "False", "ListenersNotValid"),
        ("Programmed", "False", "Invalid"),
    }
    assert conds(st[("Gateway", "mixed")]) == {
        ("Accepted", "True", "ListenersNotValid"),
        ("Programmed", "True", "Programmed"),
    }
    listeners = by_listener(st[("Gateway", "mixed")])
    assert conds(listeners["http"]) == PROGRAMMED
    assert ("Accepted", "False", "UnsupportedProtocol") in conds(listeners["invalid"])
    assert listeners["invalid"].supported_kinds == ()


def test_infrastructure_parameters_ref_is_invalid_parameters() -> None:
    # conformance GatewayInvalidParametersRef: kic-trio supports no parameters kind
    gw = gateway([{"name": "http", "port": 80, "protocol": "HTTP"}])
    gw["spec"]["infrastructure"] = {
        "parametersRef": {"group": "invalid.io", "kind": "InvalidParameters", "name": "invalid"}
    }
    g = statuses([CLASS, PROXY, gw])[("Gateway", "gw")]
    assert conds(g) == {
        ("Accepted", "False", "InvalidParameters"),
        ("Programmed", "False", "Invalid"),
    }
    assert g.generation == 5
    reason = next(c for c in g.conditions if c.type == "Accepted")
    assert "invalid.io/InvalidParameters" in reason.message


def test_listener_with_unresolved_certificate_still_counts_its_routes() -> None:
    # conformance GatewayWithAttachedRoutes: attachedRoutes counts routes selected by the
    # listener's allowedRoutes and the route's parentRefs, whether or not it is Programmed;
    # nothing is served on that listener meanwhile.
    gw = gateway([https("tls", "does-not-exist")])
    result = translate_objects([CLASS, PROXY, gw, route("r1", "tls")], OPTS)
    st = {(r.kind, r.name): s for r, s in result.status.items()}
    lst = by_listener(st[("Gateway", "gw")])["tls"]
    assert lst.attached_routes == 1
    assert ("ResolvedRefs", "False", "InvalidCertificateRef") in conds(lst)
    assert ("Programmed", "False", "Invalid") in conds(lst)
    assert ("Accepted", "True", "ListenersNotValid") in conds(st[("Gateway", "gw")])
    # the route reason stays upstream's (sectionName set, no ready listener matched it)
    assert ("Accepted", "False", "NoMatchingParent") in conds(st[("HTTPRoute", "r1")])
    assert not result.config.get("services")
