"""Fail closed on plugins (issue 13, DESIGN rule 7).

What references a plugin that makes no instance for it (missing, configuration that cannot be
built, not attachable, or beaten in Kong's one-plugin-per-scope arbitration) is left out, with a
Failure naming the plugin; it comes back when the plugin is fixed. Every step is checked
incremental against full (the property tests cover random worlds; these are the named cases).
"""

from __future__ import annotations

from typing import Any

from kic_trio._deltas import Delete, Upsert
from kic_trio.models import parse
from kic_trio.store import Store
from kic_trio.translator import TranslationResult, Translator, TranslatorOptions

OPTS = TranslatorOptions()
NS = "default"
CLASS = {"kubernetes.io/ingress.class": "kong"}


def ingress(name: str, plugins: str, service: str = "svc") -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": name,
            "namespace": NS,
            "uid": f"{name}-uid",
            "creationTimestamp": "2025-01-01T00:00:00Z",
            "annotations": {"konghq.com/plugins": plugins},
        },
        "spec": {
            "ingressClassName": "kong",
            "rules": [
                {
                    "host": f"{name}.example.com",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": service, "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ],
        },
    }


def service(name: str = "svc", plugins: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": NS, "uid": f"{name}-uid"}
    if plugins:
        meta["annotations"] = {"konghq.com/plugins": plugins}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
    }


def plugin(name: str, kind: str = "key-auth", **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "configuration.konghq.com/v1",
        "kind": "KongPlugin",
        "metadata": {"name": name, "namespace": NS, "uid": f"{name}-uid"},
        "plugin": kind,
        **extra,
    }


def secret(name: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": NS, "uid": f"{name}-uid"},
        "stringData": data,
    }


def consumer(name: str, plugins: str, groups: list[str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "configuration.konghq.com/v1",
        "kind": "KongConsumer",
        "metadata": {
            "name": name,
            "namespace": NS,
            "uid": f"{name}-uid",
            "annotations": {**CLASS, "konghq.com/plugins": plugins},
        },
        "username": name,
        "consumerGroups": groups or [],
    }


def group(name: str, plugins: str) -> dict[str, Any]:
    return {
        "apiVersion": "configuration.konghq.com/v1beta1",
        "kind": "KongConsumerGroup",
        "metadata": {
            "name": name,
            "namespace": NS,
            "uid": f"{name}-uid",
            "annotations": {**CLASS, "konghq.com/plugins": plugins},
        },
    }


class World:
    """A store and a warm translator; every translation is checked against a full one."""

    def __init__(self, *objs: dict[str, Any]) -> None:
        self.store = Store()
        self.tr = Translator(OPTS)
        self.upsert(*objs)

    def upsert(self, *objs: dict[str, Any]) -> TranslationResult:
        for raw in objs:
            self.store.apply(Upsert(raw["kind"], parse(raw["kind"], raw)))
        return self.translate()

    def delete(self, kind: str, name: str) -> TranslationResult:
        self.store.apply(Delete(kind, NS, name))
        return self.translate()

    def translate(self) -> TranslationResult:
        snap = self.store.snapshot()
        got = self.tr.translate(snap, self.store.take_changes())
        want = Translator(OPTS).translate(snap)
        assert got.body == want.body
        assert got.failures == want.failures
        assert got.configured == want.configured
        return got


def routes(r: TranslationResult) -> set[str]:
    return {rt["name"] for s in r.config.get("services", []) for rt in s.get("routes", [])}


def plugin_names(r: TranslationResult) -> list[tuple[str, str | None]]:
    return sorted(
        (p["name"], p.get("route") or p.get("service") or p.get("consumer"))
        for p in r.config.get("plugins", [])
    )


def reasons(r: TranslationResult, kind: str, name: str) -> list[str]:
    return [f.reason for f in r.failures if f.obj.kind == kind and f.obj.name == name]


ROUTE = "default.ing.svc.ing.example.com.80"


def test_missing_plugin_leaves_the_route_out_until_it_exists() -> None:
    w = World(service(), plugin("auth"), ingress("ing", "auth,limit"), ingress("ok", "auth"))
    r = w.translate()
    assert ROUTE not in routes(r)
    assert "default.ok.svc.ok.example.com.80" in routes(r)  # the rest still goes out
    # no instance dangles on the removed route
    assert ("key-auth", ROUTE) not in plugin_names(r)
    msgs = reasons(r, "Ingress", "ing")
    assert any(
        "plugin 'limit' could not be configured: it does not exist" in m
        and "is not served until it is fixed" in m
        for m in msgs
    ), msgs
    assert any("'limit' does not exist" in m for m in msgs)  # the plugin's own failure stays
    assert not any(ref.kind == "Ingress" and ref.name == "ing" for ref in r.configured)

    r = w.upsert(plugin("limit", "rate-limiting", config={"minute": 5, "policy": "local"}))
    assert ROUTE in routes(r)
    assert ("key-auth", ROUTE) in plugin_names(r)
    assert ("rate-limiting", ROUTE) in plugin_names(r)
    assert reasons(r, "Ingress", "ing") == []

    r = w.delete("KongPlugin", "limit")
    assert ROUTE not in routes(r)
    assert ("key-auth", ROUTE) not in plugin_names(r)


def test_config_from_missing_secret_blocks_until_the_secret_arrives() -> None:
    conf = {"secretKeyRef": {"name": "conf", "key": "config"}}
    w = World(
        service(), plugin("rt", "response-transformer", configFrom=conf), ingress("ing", "rt")
    )
    r = w.translate()
    assert ROUTE not in routes(r)
    assert r.empty  # the Kong service had only that route: it goes with its upstream
    assert any("its configuration cannot be built" in m for m in reasons(r, "Ingress", "ing"))
    r = w.upsert(secret("conf", config='{"add": {"headers": ["x:1"]}}'))
    assert ROUTE in routes(r)
    assert ("response-transformer", ROUTE) in plugin_names(r)
    r = w.upsert(secret("conf", config="{not json"))
    assert ROUTE not in routes(r)


def test_failing_config_patch_blocks_the_route() -> None:
    patches = [
        {"path": "/add/headers", "valueFrom": {"secretKeyRef": {"name": "p", "key": "nope"}}}
    ]
    w = World(
        service(),
        secret("p", h='["x:1"]'),
        plugin("rt", "response-transformer", config={"add": {}}, configPatches=patches),
        ingress("ing", "rt"),
    )
    assert ROUTE not in routes(w.translate())
    patches[0]["valueFrom"]["secretKeyRef"]["key"] = "h"
    r = w.upsert(plugin("rt", "response-transformer", config={"add": {}}, configPatches=patches))
    assert ROUTE in routes(r)


def test_service_plugin_missing_takes_the_service_its_routes_and_their_plugins() -> None:
    w = World(service("svc", plugins="ghost"), plugin("auth"), ingress("ing", "auth"))
    r = w.translate()
    assert r.config.get("services", []) == []
    assert plugin_names(r) == []
    msgs = reasons(r, "Service", "svc")
    assert any("the service 'default.svc.80' is not served" in m for m in msgs), msgs
    r = w.upsert(plugin("ghost", "cors"))
    assert ROUTE in routes(r)
    assert ("cors", "default.svc.80") in plugin_names(r)
    assert ("key-auth", ROUTE) in plugin_names(r)


def test_consumer_without_its_plugin_is_left_out_with_its_memberships() -> None:
    broken = {"secretKeyRef": {"name": "limits", "key": "config"}}
    w = World(
        plugin("limit", "rate-limiting", configFrom=broken),
        plugin("glimit", "rate-limiting", config={"minute": 1}),
        group("gold", "glimit"),
        consumer("alice", "limit", ["gold"]),
        plugin("blimit", "rate-limiting", config={"minute": 9}),
        consumer("bob", "blimit"),
    )
    r = w.translate()
    names = [c["username"] for c in r.config.get("consumers", [])]
    assert names == ["bob"]
    assert r.config.get("consumer_group_consumers", []) == []
    assert not any(p.get("consumer") == "alice" for p in r.config.get("plugins", []))
    assert any(
        "the consumer 'alice' is not served" in m for m in reasons(r, "KongConsumer", "alice")
    )
    r = w.upsert(secret("limits", config='{"minute": 5, "policy": "local"}'))
    assert sorted(c["username"] for c in r.config["consumers"]) == ["alice", "bob"]
    assert r.config["consumer_group_consumers"] == [{"consumer": "alice", "consumer_group": "gold"}]


def test_group_without_its_plugin_is_left_out_with_its_memberships() -> None:
    w = World(group("gold", "missing"), consumer("bob", "", ["gold"]))
    r = w.translate()
    assert r.config.get("consumer_groups", []) == []
    assert r.config.get("consumer_group_consumers", []) == []
    assert [c["username"] for c in r.config["consumers"]] == ["bob"]
    r = w.upsert(plugin("missing", "rate-limiting", config={"minute": 1}))
    assert [g["name"] for g in r.config["consumer_groups"]] == ["gold"]


def test_losing_the_one_plugin_per_scope_arbitration_blocks_the_route() -> None:
    w = World(
        service(),
        plugin("a-old", "cors"),
        plugin("b-new", "cors"),
        ingress("ing", "a-old,b-new"),
    )
    r = w.translate()
    assert ROUTE not in routes(r)
    assert plugin_names(r) == []
    assert any(
        "plugin 'b-new' could not be configured" in m and "Kong allows only one" in m
        for m in reasons(r, "Ingress", "ing")
    )
    r = w.upsert(ingress("ing", "a-old"))
    assert ROUTE in routes(r)
    assert plugin_names(r) == [("cors", ROUTE)]


def test_group_sharing_a_plugin_with_a_consumer_is_left_out() -> None:
    """As upstream, a plugin naming consumers is attached to them only, not to the groups that
    also name it: the group's members would go unlimited, so the group is left out."""
    w = World(
        plugin("limit", "rate-limiting", config={"minute": 1}),
        group("gold", "limit"),
        consumer("bob", "limit"),
        consumer("carol", "", ["gold"]),
    )
    r = w.translate()
    assert r.config.get("consumer_groups", []) == []
    assert r.config.get("consumer_group_consumers", []) == []
    assert plugin_names(r) == [("rate-limiting", "bob")]
    assert any(
        "it is not attached to the consumer group" in m
        for m in reasons(r, "KongConsumerGroup", "gold")
    )
    r = w.upsert(consumer("bob", ""))
    assert [g["name"] for g in r.config["consumer_groups"]] == ["gold"]
    assert r.config["consumer_group_consumers"] == [{"consumer": "carol", "consumer_group": "gold"}]


def test_cross_namespace_plugin_without_a_grant_leaves_the_route_out() -> None:
    """Upstream serves the route without the plugin when no ReferenceGrant allows ``ns:name``;
    kic-trio leaves it out (docs/internals.md), whether or not the plugin exists there."""
    elsewhere = plugin("auth")
    elsewhere["metadata"]["namespace"] = "team-b"
    w = World(service(), elsewhere, ingress("ing", "team-b:auth"), ingress("ok", ""))
    r = w.translate()
    assert ROUTE not in routes(r)
    assert "default.ok.svc.ok.example.com.80" in routes(r)
    assert plugin_names(r) == []  # team-b's plugin is not attached either
    msgs = reasons(r, "Ingress", "ing")
    assert any("no grant found to reference KongPlugin team-b/auth" in m for m in msgs), msgs
    assert any("no grant allows it" in m and "is not served until" in m for m in msgs), msgs
    # dropping the reference brings the route back (incremental == full all along)
    r = w.upsert(ingress("ing", ""))
    assert ROUTE in routes(r)
    assert reasons(r, "Ingress", "ing") == []
    # a cross-namespace reference on the Service takes the Service and its routes
    r = w.upsert(service(plugins="team-b:auth"))
    assert ROUTE not in routes(r) and "default.ok.svc.ok.example.com.80" not in routes(r)
