"""Gateway API parsers (models/_gateway_api.py): fields as the contract names them, and bad
input dropped toward serving less, with failures that name the field (never the value)."""

from __future__ import annotations

from typing import Any

import pytest

from kic_trio import Config, ConfigError
from kic_trio.models import (
    BackendTLSPolicy,
    Gateway,
    GatewayClass,
    GRPCRoute,
    HTTPRoute,
    ReferenceGrant,
    TCPRoute,
    TLSRoute,
    parse,
    secret_refs,
)
from kic_trio.models import gateway_api as gw
from kic_trio.models._gateway_parsers import go_duration_ms


def _obj(kind: str, spec: dict[str, Any], version: str = "v1", **meta: Any) -> Any:
    m: dict[str, Any] = {"name": "r", "namespace": "ns", "generation": 3, **meta}
    if kind == "GatewayClass":
        m.pop("namespace")
    return parse(
        kind,
        {
            "apiVersion": f"gateway.networking.k8s.io/{version}",
            "kind": kind,
            "metadata": m,
            "spec": spec,
        },
    )


def _fields(obj: Any) -> set[str]:
    return {f.field for f in obj.failures}


def test_httproute_parses_every_contract_field() -> None:
    r = _obj(
        "HTTPRoute",
        {
            "parentRefs": [
                {"name": "gw", "sectionName": "http", "port": 80},
                {"name": "gw2", "namespace": "other", "group": "x.io", "kind": "Thing"},
            ],
            "hostnames": ["a.example.com", "*.example.com"],
            "rules": [
                {
                    "name": "first",
                    "matches": [
                        {
                            "path": {"type": "Exact", "value": "/x"},
                            "headers": [{"name": "X-A", "value": "1"}],
                            "queryParams": [
                                {"name": "q", "value": "^v", "type": "RegularExpression"}
                            ],
                            "method": "GET",
                        },
                        {},
                    ],
                    "filters": [
                        {
                            "type": "RequestHeaderModifier",
                            "requestHeaderModifier": {
                                "set": [{"name": "x-s", "value": "v"}],
                                "add": [{"name": "x-a", "value": "w"}],
                                "remove": ["x-r"],
                            },
                        },
                        {
                            "type": "RequestRedirect",
                            "requestRedirect": {
                                "scheme": "https",
                                "hostname": "b.example.com",
                                "port": 8443,
                                "statusCode": 301,
                                "path": {"type": "ReplaceFullPath", "replaceFullPath": "/f"},
                            },
                        },
                        {
                            "type": "URLRewrite",
                            "urlRewrite": {
                                "hostname": "c.example.com",
                                "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"},
                            },
                        },
                        {
                            "type": "ExtensionRef",
                            "extensionRef": {
                                "group": "configuration.konghq.com",
                                "kind": "KongPlugin",
                                "name": "p",
                            },
                        },
                        {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "m"}}},
                    ],
                    "backendRefs": [
                        {"name": "s", "port": 80, "weight": 10, "filters": [{"type": "X"}]},
                        {"name": "t", "kind": "Service", "group": "", "namespace": "other"},
                    ],
                    "timeouts": {"backendRequest": "1m30s"},
                }
            ],
        },
    )
    assert isinstance(r, HTTPRoute) and not r.failures
    assert r.generation == 3
    assert r.parent_refs == (
        gw.ParentRef(0, "gw", section_name="http", port=80),
        gw.ParentRef(1, "gw2", "x.io", "Thing", "other"),
    )
    assert r.parent_refs[0].is_gateway and not r.parent_refs[1].is_gateway
    assert r.hostnames == ("a.example.com", "*.example.com")
    (rule,) = r.rules
    assert (rule.index, rule.name, rule.backend_request_timeout_ms) == (0, "first", 90_000)
    m0, m1 = rule.matches
    assert m0 == gw.HTTPRouteMatch(
        0,
        gw.HTTPPathMatch("Exact", "/x"),
        (gw.HeaderMatch("X-A", "1"),),
        (gw.HeaderMatch("q", "^v", "RegularExpression"),),
        "GET",
    )
    assert m1 == gw.HTTPRouteMatch(1)
    hm, redirect, rewrite, ext, mirror = rule.filters
    assert hm.header_modifier == gw.HeaderModifier((("x-s", "v"),), (("x-a", "w"),), ("x-r",))
    assert (redirect.redirect_scheme, redirect.redirect_hostname) == ("https", "b.example.com")
    assert (redirect.redirect_port, redirect.redirect_status_code) == (8443, 301)
    assert redirect.path_modifier == ("ReplaceFullPath", "/f")
    assert rewrite.rewrite_hostname == "c.example.com"
    assert rewrite.path_modifier == ("ReplacePrefixMatch", "/")
    assert (ext.extension_group, ext.extension_kind, ext.extension_name) == (
        "configuration.konghq.com",
        "KongPlugin",
        "p",
    )
    assert mirror == gw.HTTPFilter("RequestMirror")  # kept by type: the translator fails it
    # kind unset stays None (upstream's golden inputs drop such a backend)
    assert rule.backend_refs == (
        gw.BackendRef(0, "s", port=80, weight=10, has_filters=True),
        gw.BackendRef(1, "t", "", "Service", "other"),
    )
    assert "k8s-kind:HTTPRoute" in r.tags and "k8s-version:v1" in r.tags


def test_a_bad_match_drops_its_rule_and_the_others_keep_their_index() -> None:
    r = _obj(
        "HTTPRoute",
        {
            "rules": [
                {"matches": [{"path": {"value": "/a"}}]},
                {"matches": [{"path": {"type": "PathPrefix", "value": "/a/../etc"}}]},
                {"matches": [{"headers": [{"name": "bad header", "value": "v"}]}]},
                {"filters": [{"type": "RequestHeaderModifier"}]},  # no config: rule dropped
                {"timeouts": {"backendRequest": "soon"}},
                {"matches": [{"method": "FETCH"}]},
                {"matches": [{"path": {"value": "/b"}}]},
            ]
        },
    )
    assert [rule.index for rule in r.rules] == [0, 6]
    fields = _fields(r)
    assert "spec.rules[1].matches[0].path.value" in fields
    assert "spec.rules[2].matches[0].headers[0].name" in fields
    assert "spec.rules[3].filters[0].requestHeaderModifier" in fields
    assert "spec.rules[4].timeouts.backendRequest" in fields
    assert "spec.rules[5].matches[0].method" in fields
    assert {f"spec.rules[{i}]" for i in range(1, 6)} <= fields


def test_a_bad_backend_ref_only_loses_itself() -> None:
    r = _obj(
        "HTTPRoute",
        {"rules": [{"backendRefs": [{"name": "s", "port": 70000}, {"name": "t", "port": 80}]}]},
    )
    (rule,) = r.rules
    assert [b.name for b in rule.backend_refs] == ["t"]
    assert [b.index for b in rule.backend_refs] == [1]
    assert "spec.rules[0].backendRefs[0].port" in _fields(r)


def test_hostnames_all_invalid_means_the_route_serves_nothing() -> None:
    """Dropping every bad hostname would leave a route matching any host: its rules go too."""
    r = _obj("HTTPRoute", {"hostnames": ["BAD_host", "10.0.0.1"], "rules": [{}]})
    assert r.hostnames == () and r.rules == ()
    assert {"spec.hostnames[0]", "spec.hostnames[1]", "spec.hostnames"} <= _fields(r)
    # one good one left: narrower, still served
    r2 = _obj("HTTPRoute", {"hostnames": ["BAD_host", "ok.example.com"], "rules": [{}]})
    assert r2.hostnames == ("ok.example.com",) and len(r2.rules) == 1


def test_failures_never_quote_values() -> None:
    secret = "s3cr3t-value"
    r = _obj(
        "HTTPRoute",
        {
            "hostnames": [secret.upper()],
            "rules": [{"matches": [{"headers": [{"name": secret + " x", "value": secret}]}]}],
        },
    )
    assert r.failures
    for f in r.failures:
        assert secret not in f.reason.lower() and secret not in f.field.lower()


def test_status_parents_are_read_with_their_namespace_defaulted() -> None:
    raw = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r", "namespace": "ns"},
        "spec": {},
        "status": {
            "parents": [
                {
                    "controllerName": "konghq.com/kic-gateway-controller",
                    "parentRef": {"name": "gw", "sectionName": "http"},
                },
                {"controllerName": "other.io/x", "parentRef": {"name": "g", "namespace": "o"}},
                "junk",
            ]
        },
    }
    r = parse("HTTPRoute", raw)
    assert isinstance(r, HTTPRoute)
    assert r.status_parents == (
        ("konghq.com/kic-gateway-controller", "ns", "gw", "http"),
        ("other.io/x", "o", "g", ""),
    )


def test_gateway_listeners_and_status() -> None:
    g = _obj(
        "Gateway",
        {
            "gatewayClassName": "kong",
            "addresses": [{"type": "IPAddress", "value": "10.0.0.1"}],
            "listeners": [
                {"name": "http", "port": 80, "protocol": "HTTP"},
                {
                    "name": "https",
                    "port": 443,
                    "protocol": "HTTPS",
                    "hostname": "*.example.com",
                    "tls": {
                        "certificateRefs": [{"name": "cert"}, {"name": "c2", "namespace": "o"}]
                    },
                    "allowedRoutes": {
                        "namespaces": {
                            "from": "Selector",
                            "selector": {
                                "matchLabels": {"team": "a"},
                                "matchExpressions": [
                                    {"key": "env", "operator": "In", "values": ["prod"]}
                                ],
                            },
                        },
                        "kinds": [{"kind": "HTTPRoute"}, {"group": "x", "kind": "Y"}],
                    },
                },
                {"name": "dup", "port": 0, "protocol": "HTTP"},
                {"name": "http", "port": 81, "protocol": "HTTP"},
                {
                    "name": "sel",
                    "port": 82,
                    "protocol": "HTTP",
                    "allowedRoutes": {"namespaces": {"from": "Some"}},
                },
            ],
        },
    )
    assert isinstance(g, Gateway)
    assert g.class_name == "kong" and g.addresses == (("IPAddress", "10.0.0.1"),)
    assert [lst.name for lst in g.listeners] == ["http", "https"]
    https = g.listeners[1]
    assert https.tls_mode == "Terminate"  # the API's default for a tls block
    assert https.certificate_refs == (
        gw.SecretObjectRef("cert"),
        gw.SecretObjectRef("c2", namespace="o"),
    )
    assert https.allowed_kinds == ((None, "HTTPRoute"), ("x", "Y"))
    ns = https.allowed_namespaces
    assert ns is not None and ns.from_ == "Selector"
    assert ns.selects({"team": "a", "env": "prod"})
    assert not ns.selects({"team": "a", "env": "dev"})
    assert not ns.selects({"env": "prod"})
    assert g.listeners[0].allowed_namespaces is None  # unset: upstream allows
    fields = _fields(g)
    assert {
        "spec.listeners[2].port",
        "spec.listeners[3].name",
        "spec.listeners[4].allowedRoutes.namespaces.from",
    } <= fields
    assert secret_refs(g) == {("ns", "cert"), ("o", "c2")}


def test_gateway_status_as_read_decides_managed_acceptance() -> None:
    raw = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "g", "namespace": "ns", "generation": 2},
        "spec": {"gatewayClassName": "kong", "listeners": []},
        "status": {
            "conditions": [
                {
                    "type": "Accepted",
                    "status": "True",
                    "reason": "Accepted",
                    "observedGeneration": 2,
                }
            ],
            "listeners": [
                {
                    "name": "http",
                    "attachedRoutes": 4,
                    "supportedKinds": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}],
                    "conditions": [
                        {"type": "Programmed", "status": "True", "reason": "Programmed"}
                    ],
                }
            ],
            "addresses": [{"type": "Hostname", "value": "lb.example.com"}],
        },
    }
    g = parse("Gateway", raw)
    assert isinstance(g, Gateway)
    assert g.accepted_by_status() and g.status_listener_names == ("http",)
    (ls,) = g.status_listeners
    assert ls.programmed and ls.attached_routes == 4
    assert ls.supported_kinds == (("gateway.networking.k8s.io", "HTTPRoute"),)
    assert g.status_addresses == (("Hostname", "lb.example.com"),)
    raw["metadata"]["generation"] = 3  # stale acceptance does not count
    g3 = parse("Gateway", raw)
    assert isinstance(g3, Gateway) and not g3.accepted_by_status()


def test_gatewayclass_unmanaged_annotation_any_non_empty_value() -> None:
    c = _obj("GatewayClass", {"controllerName": "konghq.com/kic-gateway-controller"})
    assert isinstance(c, GatewayClass) and not c.unmanaged and c.ref.namespace == ""
    c2 = _obj(
        "GatewayClass",
        {"controllerName": "x.io/y"},
        annotations={"konghq.com/gatewayclass-unmanaged": "yes"},
    )
    assert isinstance(c2, GatewayClass) and c2.unmanaged and c2.controller_name == "x.io/y"
    c3 = _obj("GatewayClass", {}, annotations={"konghq.com/gatewayclass-unmanaged": ""})
    assert isinstance(c3, GatewayClass) and not c3.unmanaged


def test_grpc_and_l4_routes() -> None:
    g = _obj(
        "GRPCRoute",
        {
            "rules": [
                {
                    "matches": [
                        {"method": {"service": "pkg.Svc", "method": "Get"}},
                        {"headers": [{"name": "x", "value": "1"}]},
                    ],
                    "backendRefs": [{"name": "s", "port": 9000}],
                },
                {"matches": [{"method": {"service": "bad/svc"}}]},
            ]
        },
    )
    assert isinstance(g, GRPCRoute)
    (rule,) = g.rules
    assert rule.matches[0].method == gw.GRPCMethodMatch("Exact", "pkg.Svc", "Get")
    assert rule.matches[1].method is None and rule.matches[1].headers
    assert "spec.rules[1].matches[0].method.service" in _fields(g)
    t = _obj(
        "TCPRoute",
        {
            "parentRefs": [{"name": "gw"}],
            "rules": [{"name": "a", "backendRefs": [{"name": "s", "port": 1}]}],
        },
        version="v1alpha2",
    )
    assert isinstance(t, TCPRoute) and t.rules == (
        gw.L4RouteRule(0, "a", (gw.BackendRef(0, "s", port=1),)),
    )
    assert "k8s-version:v1alpha2" in t.tags
    tls = _obj("TLSRoute", {"hostnames": ["tls.example.com"], "rules": [{}]}, version="v1alpha2")
    assert isinstance(tls, TLSRoute) and tls.hostnames == ("tls.example.com",)


def test_reference_grant_and_backend_tls_policy() -> None:
    rg = _obj(
        "ReferenceGrant",
        {
            "from": [
                {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "a"},
                {"kind": "Gateway"},
            ],
            "to": [{"group": "", "kind": "Service"}, {"group": "", "kind": "Secret", "name": "c"}],
        },
        version="v1beta1",
    )
    assert isinstance(rg, ReferenceGrant)
    assert rg.from_ == (gw.GrantFrom("gateway.networking.k8s.io", "HTTPRoute", "a"),)
    assert rg.to == (gw.GrantTo("", "Service"), gw.GrantTo("", "Secret", "c"))
    assert "spec.from[1]" in _fields(rg)
    p = _obj(
        "BackendTLSPolicy",
        {
            "targetRefs": [{"group": "", "kind": "Service", "name": "s", "sectionName": "https"}],
            "validation": {
                "hostname": "b.example.com",
                "caCertificateRefs": [{"group": "", "kind": "Secret", "name": "ca"}],
                "subjectAltNames": [{"type": "Hostname", "hostname": "x"}],
            },
            "options": {"tls-verify-depth": "2"},
        },
    )
    assert isinstance(p, BackendTLSPolicy)
    assert p.target_refs == (gw.PolicyTargetRef("", "Service", "s", "https"),)
    assert (p.hostname, p.subject_alt_names, p.options) == (
        "b.example.com",
        1,
        (("tls-verify-depth", "2"),),
    )
    assert secret_refs(p) == {("ns", "ca")}


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("10s", 10_000),
        ("1h", 3_600_000),
        ("1m30s", 90_000),
        ("250ms", 250),
        ("1h1m1s1ms", 3_661_001),
    ],
)
def test_go_durations(text: str, ms: int) -> None:
    assert go_duration_ms(text) == ms


@pytest.mark.parametrize("text", ["", "10", "s", "1.5s", "1d", "1h1m1s1ms1s", "-1s", "123456s"])
def test_bad_go_durations(text: str) -> None:
    assert go_duration_ms(text) is None


def test_controller_name_flag_is_validated_as_upstream() -> None:
    assert Config().gateway_api_controller_name == "konghq.com/kic-gateway-controller"
    Config(gateway_api_controller_name="example.com/my-controller").validate()
    with pytest.raises(ConfigError) as info:
        Config(gateway_api_controller_name="no-slash").validate()
    assert "--gateway-api-controller-name" in str(info.value)
    assert "example.com/controller-name" in str(info.value)
    with pytest.raises(ConfigError) as info:
        Config(gateway_to_reconcile="justname", publish_service_udp="a/").validate()
    text = str(info.value)
    assert "--gateway-to-reconcile" in text and "--publish-service-udp" in text
