"""HTTPRoute -> Kong: services per backend set, routes per filter/match group, filters, weights,
ReferenceGrants, parent status, expressions priority (gateway-api.md §5, §9.1).

The Translator is driven through a Store, as in the controller, so every check also holds for
incremental translation (a grant appearing or vanishing re-translates only its readers).
"""

from __future__ import annotations

from typing import Any

from kic_trio._deltas import Delete, Upsert
from kic_trio.models import ObjectStatus, parse
from kic_trio.store import Store
from kic_trio.translator import Translator, TranslatorOptions

GW = "gateway.networking.k8s.io"


def _svc(name: str, ns: str = "default", ann: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "uid": f"uid-{ns}-{name}", **(
            {"annotations": ann} if ann else {}
        )},
        "spec": {"ports": [{"port": 80, "name": "http"}]},
    }  # fmt: skip


def _eps(name: str, ips: list[str], ns: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{name}-1",
            "namespace": ns,
            "labels": {"kubernetes.io/service-name": name},
        },
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080}],
        "endpoints": [{"addresses": [ip]} for ip in ips],
    }


def _route(name: str, rules: list[dict[str, Any]], **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GW}/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", **meta},
        "spec": {"parentRefs": [{"name": "kong"}], "rules": rules},
    }


def _ref(name: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, "kind": "Service", "port": 80, **kw}


def _grant(ns: str = "other") -> dict[str, Any]:
    return {
        "apiVersion": f"{GW}/v1beta1",
        "kind": "ReferenceGrant",
        "metadata": {"name": "allow", "namespace": ns},
        "spec": {
            "from": [{"group": GW, "kind": "HTTPRoute", "namespace": "default"}],
            "to": [{"group": "", "kind": "Service"}],
        },
    }


class World:
    """A store and an incremental translator, translating after every change."""

    def __init__(self, *objs: dict[str, Any], **opts: Any) -> None:
        self.store = Store()
        opts.setdefault("gateway_attachment", False)  # upstream's cache: parents assumed
        self.tr = Translator(TranslatorOptions(fill_ids=False, **opts))
        for o in objs:
            self.store.apply(Upsert(o["kind"], parse(o["kind"], o)))
        self.result = self.tr.translate(self.store.snapshot())

    def put(self, o: dict[str, Any]) -> None:
        self.store.apply(Upsert(o["kind"], parse(o["kind"], o)))
        self._again({(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])})

    def delete(self, kind: str, ns: str, name: str) -> None:
        self.store.apply(Delete(kind, ns, name))
        self._again({(kind, ns, name)})

    def _again(self, changed: set[tuple[str, str, str]]) -> None:
        self.result = self.tr.translate(self.store.snapshot(), changed)
        full = Translator(self.tr.options).translate(self.store.snapshot())
        assert full.body == self.result.body  # incremental == full, at every step
        assert full.failures == self.result.failures

    def services(self) -> dict[str, dict[str, Any]]:
        return {s["name"]: s for s in self.result.config.get("services", [])}

    def upstreams(self) -> dict[str, dict[str, Any]]:
        return {u["name"]: u for u in self.result.config.get("upstreams", [])}

    def route_status(self, name: str) -> ObjectStatus:
        return next(
            s for r, s in self.result.status.items() if r.kind == "HTTPRoute" and r.name == name
        )

    def reasons(self) -> list[str]:
        return [f.reason for f in self.result.failures]


def test_rules_sharing_backends_share_a_service_in_rule_order() -> None:
    """Rules 2 and 10 on one backend: service ``.2``, paths of rule 2 first (upstream sorts
    rules as strings and names it after rule 10's first route; a deliberate difference)."""
    rules = [
        {"matches": [{"path": {"type": "PathPrefix", "value": f"/r{i}"}}],
         "backendRefs": [_ref("a" if i in (2, 10) else "b")]}
        for i in range(11)
    ]  # fmt: skip
    w = World(_svc("a"), _svc("b"), _route("r", rules))
    svc = w.services()["httproute.default.r.2"]
    (route,) = svc["routes"]
    assert route["name"] == "httproute.default.r.2.0"
    assert route["paths"] == ["~/r2$", "/r2/", "~/r10$", "/r10/"]
    assert set(w.services()) == {"httproute.default.r.0", "httproute.default.r.2"}


def test_redirect_with_two_matches_gives_two_distinct_routes() -> None:
    rule = {
        "matches": [
            {"path": {"type": "PathPrefix", "value": "/one"}},
            {"path": {"type": "Exact", "value": "/two"}},
        ],
        "filters": [
            {
                "type": "RequestRedirect",
                "requestRedirect": {
                    "scheme": "https",
                    "hostname": "example.com",
                    "statusCode": 301,
                },
            }
        ],
        "backendRefs": [_ref("a")],
    }
    w = World(_svc("a"), _route("r", [rule]))
    routes = w.services()["httproute.default.r.0"]["routes"]
    assert [(r["name"], r["paths"]) for r in routes] == [
        ("httproute.default.r.0.0", ["~/one$", "/one/"]),
        ("httproute.default.r.0.1", ["~/two$"]),
    ]
    for r in routes:
        (plugin,) = r["plugins"]
        assert plugin["name"] == "redirect"
        assert plugin["config"] == {
            "status_code": 301,
            "location": "https://example.com/",
            "keep_incoming_path": True,
        }


def test_header_modifiers_and_host_rewrite_merge_into_one_transformer() -> None:
    rule = {
        "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
        "filters": [
            {
                "type": "RequestHeaderModifier",
                "requestHeaderModifier": {
                    "set": [{"name": "X-Set", "value": "1"}],
                    "add": [{"name": "X-Add", "value": "2"}],
                    "remove": ["X-Gone"],
                },
            },
            {"type": "URLRewrite", "urlRewrite": {"hostname": "internal.example"}},
            {
                "type": "ResponseHeaderModifier",
                "responseHeaderModifier": {"add": [{"name": "X-Resp", "value": "3"}]},
            },
        ],
        "backendRefs": [_ref("a")],
    }
    w = World(_svc("a"), _route("r", [rule]))
    (route,) = w.services()["httproute.default.r.0"]["routes"]
    plugins = {p["name"]: p["config"] for p in route["plugins"]}
    assert plugins["request-transformer"] == {
        "replace": {"headers": ["X-Set:1", "host:internal.example"]},
        "add": {"headers": ["X-Set:1", "host:internal.example"]},
        "append": {"headers": ["X-Add:2"]},
        "remove": {"headers": ["X-Gone"]},
    }
    assert plugins["response-transformer"] == {"append": {"headers": ["X-Resp:3"]}}
    assert route["paths"] == ["~/$", "/"]


def test_unsupported_filter_fails_its_service_closed_and_the_rest_goes_out() -> None:
    bad = {
        "matches": [{"path": {"type": "PathPrefix", "value": "/bad"}}],
        "filters": [{"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "a"}}}],
        "backendRefs": [_ref("a")],
    }
    good = {"matches": [{"path": {"type": "PathPrefix", "value": "/good"}}],
            "backendRefs": [_ref("b")]}  # fmt: skip
    w = World(_svc("a"), _svc("b"), _route("r", [bad, good]))
    assert set(w.services()) == {"httproute.default.r.1"}
    assert any("httpFilter RequestMirror unsupported" in r for r in w.reasons())


def test_weights_split_over_endpoints_and_merge() -> None:
    rule = {
        "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
        "backendRefs": [_ref("a", weight=75), _ref("b", weight=25)],
    }
    w = World(
        _svc("a"), _svc("b"),
        _eps("a", ["10.0.0.1", "10.0.0.2", "10.0.0.3"]), _eps("b", ["10.0.1.1"]),
        _route("r", [rule]),
    )  # fmt: skip
    up = w.upstreams()["httproute.default.r.0"]
    assert up["targets"] == [
        {"target": "10.0.0.1:8080", "weight": 25},
        {"target": "10.0.0.2:8080", "weight": 25},
        {"target": "10.0.0.3:8080", "weight": 25},
        {"target": "10.0.1.1:8080", "weight": 25},
    ]
    svc = w.services()["httproute.default.r.0"]
    assert svc["host"] == "httproute.default.r.0" and "path" not in svc
    # two Services behind it: the HTTPRoute's tags
    assert "k8s-kind:HTTPRoute" in svc["tags"]


def test_all_backends_dropped_terminates_with_500() -> None:
    rule = {"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
            "backendRefs": [_ref("missing")]}  # fmt: skip
    w = World(_route("r", [rule]))
    svc = w.services()["httproute.default.r.0"]
    assert svc["plugins"] == [
        {
            "name": "request-termination",
            "config": {"status_code": 500, "message": "no existing backendRef provided"},
        }
    ]
    resolved = {c.type: c for c in w.route_status("r").conditions}["ResolvedRefs"]
    assert (resolved.status, resolved.reason) == ("False", "BackendNotFound")


def test_cross_namespace_backend_needs_a_grant_and_loses_it_again() -> None:
    rule = {
        "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
        "backendRefs": [_ref("far", namespace="other")],
    }
    w = World(_svc("far", ns="other"), _eps("far", ["10.9.0.1"], ns="other"), _route("r", [rule]))

    def resolved() -> tuple[str, str]:
        c = {c.type: c for c in w.route_status("r").conditions}["ResolvedRefs"]
        return c.status, c.reason

    assert resolved() == ("False", "RefNotPermitted")
    assert "targets" not in w.upstreams()["httproute.default.r.0"]
    w.put(_grant())
    assert resolved() == ("True", "ResolvedRefs")
    assert w.upstreams()["httproute.default.r.0"]["targets"] == [{"target": "10.9.0.1:8080"}]
    w.delete("ReferenceGrant", "other", "allow")
    assert resolved() == ("False", "RefNotPermitted")
    assert "targets" not in w.upstreams()["httproute.default.r.0"]


def test_parent_status_has_one_entry_per_parent() -> None:
    route = _route("r", [{"backendRefs": [_ref("a")]}])
    route["spec"]["parentRefs"] = [{"name": "kong"}, {"name": "other", "sectionName": "http"}]
    w = World(_svc("a"), route)
    status = w.route_status("r")
    assert [(p.gateway.name, p.section_name) for p in status.parents] == [
        ("kong", ""),
        ("other", "http"),
    ]
    for p in status.parents:
        assert [(c.type, c.status, c.reason) for c in p.conditions] == [
            ("Accepted", "True", "Accepted"),
            ("ResolvedRefs", "True", "ResolvedRefs"),
            ("Programmed", "True", "ConfiguredInGateway"),
        ]


def test_expression_priorities_break_ties_by_age() -> None:
    """Two HTTPRoutes with the same match: the older keeps 4095, the younger 4094; deleting
    the older gives the younger 4095 (relative order across all routes, kept incrementally)."""
    rule = {"matches": [{"path": {"type": "PathPrefix", "value": "/same"}}],
            "backendRefs": [_ref("a")]}  # fmt: skip
    old = _route("old", [rule], creationTimestamp="2024-01-01T00:00:00Z")
    young = _route("young", [rule], creationTimestamp="2024-06-01T00:00:00Z")
    w = World(_svc("a"), old, young, router_flavor="expressions")

    def prio(name: str) -> int:
        svc = w.services()[f"httproute.default.{name}.0"]
        return int(svc["routes"][0]["priority"])

    base = (2 << 44) + (4 << 23)
    assert (prio("old"), prio("young")) == (base + 4095, base + 4094)
    w.delete("HTTPRoute", "default", "old")
    assert prio("young") == base + 4095


def test_konghq_plugins_and_extension_ref_bind_plugins_to_each_route() -> None:
    rule = {
        "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
        "filters": [
            {
                "type": "ExtensionRef",
                "extensionRef": {"group": "configuration.konghq.com", "kind": "KongPlugin",
                                 "name": "ext"},
            }
        ],
        "backendRefs": [_ref("a")],
    }  # fmt: skip
    plugin = {
        "apiVersion": "configuration.konghq.com/v1",
        "kind": "KongPlugin",
        "metadata": {"name": "ext", "namespace": "default"},
        "plugin": "key-auth",
    }
    w = World(_svc("a"), plugin, _route("r", [rule]))
    bound = [p for p in w.result.config.get("plugins", []) if p["name"] == "key-auth"]
    assert bound and all(p.get("route") for p in bound)


def _class(name: str, controller: str = "konghq.com/kic-gateway-controller") -> dict[str, Any]:
    return {
        "apiVersion": f"{GW}/v1",
        "kind": "GatewayClass",
        "metadata": {"name": name},  # managed: its Gateways' status is someone else's
        "spec": {"controllerName": controller},
    }


def _gateway(name: str, class_name: str, hostname: str = "") -> dict[str, Any]:
    listener: dict[str, Any] = {"name": "http", "port": 80, "protocol": "HTTP"}
    if hostname:
        listener["hostname"] = hostname
    return {
        "apiVersion": f"{GW}/v1",
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": "default", "generation": 1},
        "spec": {"gatewayClassName": class_name, "listeners": [listener]},
        "status": {
            "conditions": [
                {"type": "Accepted", "status": "True", "reason": "Accepted",
                 "observedGeneration": 1},
                {"type": "Programmed", "status": "True", "reason": "Programmed",
                 "observedGeneration": 1},
            ],
            "listeners": [
                {
                    "name": "http",
                    "attachedRoutes": 0,
                    "supportedKinds": [{"group": GW, "kind": "HTTPRoute"}],
                    "conditions": [
                        {"type": "Programmed", "status": "True", "reason": "Programmed",
                         "observedGeneration": 1},
                    ],
                }
            ],
        },
    }  # fmt: skip


def test_attached_route_gets_listener_hostnames_and_protocols_and_detaches() -> None:
    """With the controller's attachment: served only through one of our Gateways, hosts
    narrowed to the listener's, ``protocols`` from it; deleting the Gateway detaches it."""
    route = _route("r", [{"backendRefs": [_ref("a")]}])
    route["spec"]["hostnames"] = ["*.example.com"]
    w = World(
        _svc("a"), _class("kong"), _gateway("kong", "kong", hostname="api.example.com"), route,
        gateway_attachment=True,
    )  # fmt: skip
    (kong_route,) = w.services()["httproute.default.r.0"]["routes"]
    assert kong_route["hosts"] == ["api.example.com"]
    assert kong_route["protocols"] == ["http"]
    assert w.route_status("r").parents[0].conditions[0].status == "True"
    w.delete("Gateway", "default", "kong")
    assert not w.services()


def test_route_to_another_controllers_gateway_is_not_served() -> None:
    w = World(
        _svc("a"), _class("kong", controller="example.com/other"), _gateway("kong", "kong"),
        _route("r", [{"backendRefs": [_ref("a")]}]), gateway_attachment=True,
    )  # fmt: skip
    assert not w.services()
    assert not any(r.kind == "HTTPRoute" for r in w.result.status)


def test_expression_priority_ranks_follow_joins_and_leaves() -> None:
    """Five routes of one base priority; one leaves, one changes base, one joins: ranks stay
    ``4095 - i`` in age order (World checks incremental == full after every step)."""

    def route(i: int, path: str = "/same") -> dict[str, Any]:
        rule = {"matches": [{"path": {"type": "PathPrefix", "value": path}}],
                "backendRefs": [_ref("a")]}  # fmt: skip
        return _route(f"r{i}", [rule], creationTimestamp=f"2024-01-0{i + 1}T00:00:00Z")

    w = World(_svc("a"), *(route(i) for i in range(5)), router_flavor="expressions")
    base = (2 << 44) + (4 << 23)

    def ranks() -> dict[str, int]:
        return {
            n.split(".")[2]: base + 4095 - int(s["routes"][0]["priority"])
            for n, s in w.services().items()
            if int(s["routes"][0]["priority"]) >> 23 == base >> 23
        }

    assert ranks() == {"r0": 0, "r1": 1, "r2": 2, "r3": 3, "r4": 4}
    w.delete("HTTPRoute", "default", "r1")
    assert ranks() == {"r0": 0, "r2": 1, "r3": 2, "r4": 3}
    w.put(route(2, path="/longer"))  # another base priority
    assert ranks() == {"r0": 0, "r3": 1, "r4": 2}
    w.put(route(1))
    assert ranks() == {"r0": 0, "r1": 1, "r3": 2, "r4": 3}


def test_translate_cli_prints_route_parent_conditions(tmp_path: Any) -> None:
    """``kic-trio translate`` shows what the status edge would write: a ``status:`` line for a
    parent with a condition that does not hold, a ``note:`` when all hold."""
    import yaml

    from kic_trio import _translate_cli

    far = _route("far", [{"backendRefs": [_ref("x", namespace="other")]}])
    near = _route("near", [{"backendRefs": [_ref("a")]}])
    f = tmp_path / "in.yaml"
    f.write_text(yaml.safe_dump_all([_svc("a"), _svc("x", ns="other"), far, near]))
    out = _translate_cli.run(["-f", str(f), "--assume-attached", "--no-fail"])
    lines = [m for m in out.messages if "HTTPRoute" in m]
    assert any(
        m.startswith("status: HTTPRoute default/far") and "ResolvedRefs=False RefNotPermitted" in m
        for m in lines
    ), lines
    assert any(m.startswith("note: HTTPRoute default/near") for m in lines), lines
