"""The fallback configuration fails closed: what Kong refused goes, with everything depending on it.

Kong's answers come from FakeKong's validator (``KongValidator``, Kong's own rules) where it can
produce them, or are written as Kong writes them (``flattened_errors``) for one entity.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kic_trio._payload import ConfigPayload
from kic_trio.kong._fallback import FallbackPlan, fallback_payload, plan_fallback, without_objects
from kic_trio.kong._parse import parse_rejection
from kic_trio.models import ObjectRef
from kic_trio.testing.fakekong._validate import BUNDLED_PLUGINS, KongValidator, find_schema

pytestmark = pytest.mark.skipif(
    find_schema() is None,
    reason="Kong's declarative JSON schema not found (set $KIC_TRIO_KONG_SCHEMA): KongValidator needs it",
)

GROUP = {
    "KongPlugin": "configuration.konghq.com",
    "KongClusterPlugin": "configuration.konghq.com",
    "KongConsumer": "configuration.konghq.com",
    "KongConsumerGroup": "configuration.konghq.com",
    "Ingress": "networking.k8s.io",
}


def ref(kind: str, ns: str, name: str) -> ObjectRef:
    return ObjectRef(kind, ns, name, f"uid-{kind}-{ns}-{name}", GROUP.get(kind, ""), "v1")


def tags(kind: str, ns: str, name: str) -> list[str]:
    r = ref(kind, ns, name)
    out = [f"k8s-name:{name}"] + ([f"k8s-namespace:{ns}"] if ns else [])
    out += [f"k8s-kind:{kind}", f"k8s-uid:{r.uid}"]
    return out + ([f"k8s-group:{r.group}"] if r.group else []) + ["k8s-version:v1"]


def uid(n: int) -> str:
    return f"00000000-0000-5000-8000-{n:012d}"


def service(ns: str, name: str, n: int, routes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": uid(n),
        "name": f"{ns}.{name}.80",
        "host": f"{name}.{ns}.80.svc",
        "port": 80,
        "protocol": "http",
        "tags": tags("Service", ns, name),
        "routes": routes,
    }


def route(ns: str, ing: str, name: str, n: int, path: str) -> dict[str, Any]:
    return {"id": uid(n), "name": name, "paths": [path], "tags": tags("Ingress", ns, ing)}


def plugin(n: int, name: str, kind: str, ns: str, obj: str, **attached: str) -> dict[str, Any]:
    return {"id": uid(n), "name": name, "tags": tags(kind, ns, obj), **attached}


def config() -> dict[str, Any]:
    """Two tenants: a/web (key-auth KongPlugin + a rate-limiting KongClusterPlugin), b/web
    (the same KongClusterPlugin), a/shop with two backends, consumers in a group."""
    return {
        "_format_version": "3.0",
        "services": [
            service(
                "a",
                "web",
                1,
                [
                    route("a", "web", "a.web", 11, "/a"),
                    route("a", "shop", "a.shop.1", 12, "/shop1"),
                ],
            ),
            service("a", "api", 2, [route("a", "shop", "a.shop.2", 13, "/shop2")]),
            service("b", "web", 3, [route("b", "web", "b.web", 14, "/b")]),
        ],
        "upstreams": [
            {
                "name": f"{n}.{ns}.80.svc",
                "tags": tags("Service", ns, n),
                "targets": [{"target": "10.0.0.1:80", "tags": tags("Service", ns, n)}],
            }
            for ns, n in (("a", "web"), ("a", "api"), ("b", "web"))
        ],
        "plugins": [
            plugin(21, "key-auth", "KongPlugin", "a", "auth", route="a.web"),
            plugin(22, "rate-limiting", "KongClusterPlugin", "", "rl", route="a.web"),
            plugin(23, "rate-limiting", "KongClusterPlugin", "", "rl", route="b.web"),
            plugin(24, "cors", "KongPlugin", "a", "cors", route="a.shop.1"),
            plugin(25, "cors", "KongPlugin", "a", "cors", route="a.shop.2"),
            plugin(
                26, "request-termination", "KongPlugin", "a", "limit-gold", consumer_group="gold"
            ),
            plugin(27, "prometheus", "KongClusterPlugin", "", "metrics"),
        ],
        "consumers": [
            {
                "id": uid(31),
                "username": "alice",
                "tags": tags("KongConsumer", "a", "alice"),
                "keyauth_credentials": [
                    {"key": "alice-secret-key", "tags": tags("Secret", "a", "alice-key")}
                ],
            },
            {
                "id": uid(32),
                "username": "bob",
                "tags": tags("KongConsumer", "a", "bob"),
                "acls": [{"group": "banned", "tags": tags("Secret", "a", "bob-acl")}],
            },
        ],
        "consumer_groups": [
            {"id": uid(41), "name": "gold", "tags": tags("KongConsumerGroup", "a", "gold")}
        ],
        "consumer_group_consumers": [{"consumer": "alice", "consumer_group": "gold"}],
    }


def refused(cfg: dict[str, Any], **validator: Any) -> bytes:
    """Kong's 400 body for ``cfg`` (FakeKong's validator: Kong's own rules)."""
    answer = KongValidator(**validator).check(cfg)
    assert answer is not None, "Kong accepts it"
    return orjson.dumps(answer)


def one_refused(entity_type: str, entity: dict[str, Any], field: str, message: str) -> bytes:
    """Kong's 400 for a single entity, as Kong writes it with flatten_errors."""
    shown = {k: v for k, v in entity.items() if not isinstance(v, list) or k == "tags"}
    entry = {
        "entity_type": entity_type,
        "entity_id": entity["id"],
        "entity_tags": entity["tags"],
        "entity": shown,
        "errors": [{"type": "field", "field": field, "message": message}],
    }
    if isinstance(entity.get("name"), str):
        entry["entity_name"] = entity["name"]
    return orjson.dumps(
        {
            "code": 14,
            "name": "invalid declarative configuration",
            "message": "declarative config is invalid: {}",
            "fields": {},
            "flattened_errors": [entry],
        }
    )


def plan(cfg: dict[str, Any], *answers: bytes) -> FallbackPlan:
    return plan_fallback(orjson.dumps(cfg), [parse_rejection(a) for a in answers])


def served(p: FallbackPlan) -> dict[str, Any]:
    assert p.body is not None, p.blocked
    out: dict[str, Any] = orjson.loads(p.body)
    return out


def routes(cfg: dict[str, Any]) -> set[str]:
    return {r["name"] for s in cfg.get("services", []) for r in s.get("routes", [])}


def plugins_on(cfg: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (p["name"], p.get("route") or p.get("consumer_group") or "global")
        for p in cfg.get("plugins", [])
    }


def assert_fails_closed(before: dict[str, Any], p: FallbackPlan) -> None:
    """Every route/consumer group still served keeps every plugin it had; Kong takes the result."""
    after = served(p)
    kept = routes(after) | {g["name"] for g in after.get("consumer_groups", [])} | {"global"}
    assert {x for x in plugins_on(before) if x[1] in kept} == plugins_on(after)
    assert KongValidator().check(after) is None


def test_a_refused_auth_plugin_takes_its_route_and_ingress_down() -> None:
    cfg = config()
    answer = refused(cfg, enabled_plugins=BUNDLED_PLUGINS - {"key-auth"})
    p = plan(cfg, answer)
    after = served(p)
    # a/web is not served at all: not without key-auth, and not with only rate-limiting
    assert routes(after) == {"a.shop.1", "a.shop.2", "b.web"}
    assert ("rate-limiting", "b.web") in plugins_on(after)
    assert set(p.left_out) == {ref("KongPlugin", "a", "auth"), ref("Ingress", "a", "web")}
    assert p.left_out[ref("KongPlugin", "a", "auth")] == (
        "Kong refused it; what it protects is left out with it: Ingress a/web"
    )
    assert "plugin 'key-auth' of KongPlugin a/auth" in p.left_out[ref("Ingress", "a", "web")]
    assert p.plugins_removed == ("plugin 'key-auth' of KongPlugin a/auth on Ingress a/web",)
    # Kong's verdict is on the KongPlugin, as upstream reports it
    assert {f.obj for f in p.failures} == {ref("KongPlugin", "a", "auth")}
    assert_fails_closed(cfg, p)


def test_a_refused_cluster_plugin_instance_is_blamed_on_its_referrer_only() -> None:
    cfg = config()
    instance_a = cfg["plugins"][1]
    p = plan(
        cfg, one_refused("plugin", instance_a, "config.minute", "value must be greater than 0")
    )
    after = served(p)
    # namespace b keeps its instance and its route; a/web goes, blamed, not the KongClusterPlugin
    assert "b.web" in routes(after) and ("rate-limiting", "b.web") in plugins_on(after)
    assert "a.web" not in routes(after)
    assert ref("KongClusterPlugin", "", "rl") not in p.left_out
    assert set(p.left_out) == {ref("Ingress", "a", "web")}
    [failure] = p.failures
    assert failure.obj == ref("Ingress", "a", "web")
    assert failure.field == "metadata.annotations.konghq.com/plugins"
    assert (
        failure.reason
        == "invalid config.minute: value must be greater than 0 (KongClusterPlugin rl, plugin 'rate-limiting')"
    )
    assert_fails_closed(cfg, p)


def test_a_refused_cluster_plugin_everywhere_takes_down_every_referrer() -> None:
    cfg = config()
    answer = refused(cfg, reject_tags=frozenset({"k8s-name:rl"}))
    p = plan(cfg, answer)
    assert {"a.web", "b.web"}.isdisjoint(routes(served(p)))
    assert {f.obj for f in p.failures} == {ref("Ingress", "a", "web"), ref("Ingress", "b", "web")}
    assert_fails_closed(cfg, p)


def test_a_refused_global_plugin_gives_no_fallback() -> None:
    cfg = config()
    p = plan(cfg, refused(cfg, enabled_plugins=BUNDLED_PLUGINS - {"prometheus"}))
    assert p.body is None
    assert "global plugin 'prometheus' of KongClusterPlugin metrics" in p.blocked
    assert "last good configuration stays" in p.blocked
    assert {f.obj for f in p.failures} == {ref("KongClusterPlugin", "", "metrics")}


def test_a_refused_service_takes_down_every_ingress_using_it() -> None:
    cfg = config()
    p = plan(
        cfg,
        one_refused("service", cfg["services"][1], "port", "value should be between 0 and 65535"),
    )
    after = served(p)
    # a/shop routes to a/web as well: upstream drops the whole Ingress, not only its route to api
    assert routes(after) == {"a.web", "b.web"}
    assert set(p.left_out) == {ref("Service", "a", "api"), ref("Ingress", "a", "shop")}
    assert {u["name"] for u in after["upstreams"]} == {"web.a.80.svc", "web.b.80.svc"}
    # cors instances go quietly with their routes; nothing else loses a plugin
    assert p.plugins_removed == ()
    assert_fails_closed(cfg, p)


def test_a_refused_ingress_goes_alone_and_its_plugin_stays_elsewhere() -> None:
    cfg = config()
    p = plan(cfg, one_refused("route", cfg["services"][0]["routes"][1], "paths.1", "bad path"))
    after = served(p)
    assert routes(after) == {"a.web", "b.web"}
    assert set(p.left_out) == {ref("Ingress", "a", "shop")}
    assert ("key-auth", "a.web") in plugins_on(after)
    assert_fails_closed(cfg, p)


def test_a_refused_credential_takes_its_consumer_down() -> None:
    cfg = config()
    p = plan(cfg, refused(cfg, reject_tags=frozenset({"k8s-name:bob-acl"})))
    after = served(p)
    # bob without his "banned" ACL would pass a deny list: he goes with it
    assert [c["username"] for c in after["consumers"]] == ["alice"]
    assert set(p.left_out) == {ref("Secret", "a", "bob-acl"), ref("KongConsumer", "a", "bob")}
    assert_fails_closed(cfg, p)


def test_a_refused_group_plugin_takes_the_group_and_its_members_down() -> None:
    cfg = config()
    p = plan(cfg, one_refused("plugin", cfg["plugins"][5], "config.status_code", "bad"))
    after = served(p)
    # emptied lists are left out, as upstream does
    assert "consumer_groups" not in after and "consumer_group_consumers" not in after
    # alice outside gold would escape gold's plugins
    assert [c["username"] for c in after["consumers"]] == ["bob"]
    assert set(p.left_out) == {
        ref("KongPlugin", "a", "limit-gold"),
        ref("KongConsumerGroup", "a", "gold"),
        ref("KongConsumer", "a", "alice"),
    }
    assert p.plugins_removed == (
        "plugin 'request-termination' of KongPlugin a/limit-gold on KongConsumerGroup a/gold",
    )
    assert_fails_closed(cfg, p)


def test_entities_are_found_without_ids_too() -> None:
    cfg = config()
    for s in cfg["services"]:
        for r in s["routes"]:
            del r["id"]
    for pl in cfg["plugins"]:
        del pl["id"]
    p = plan(cfg, refused(cfg, enabled_plugins=BUNDLED_PLUGINS - {"key-auth"}))
    assert "a.web" not in routes(served(p))
    assert_fails_closed(cfg, p)


@pytest.mark.parametrize("index", range(len(config()["plugins"])))
def test_any_refused_plugin_fails_closed(index: int) -> None:
    cfg = config()
    pl = cfg["plugins"][index]
    p = plan(cfg, one_refused("plugin", pl, "config", "refused"))
    if "route" not in pl and "consumer_group" not in pl:
        assert p.body is None
    else:
        assert_fails_closed(cfg, p)


def test_several_rounds_accumulate() -> None:
    cfg = config()
    first = one_refused("route", cfg["services"][0]["routes"][1], "paths.1", "bad path")
    second = one_refused("service", cfg["services"][2], "port", "bad port")
    p = plan(cfg, first, second)
    assert routes(served(p)) == {"a.web"}
    assert ref("Ingress", "b", "web") in p.left_out
    assert_fails_closed(cfg, p)


def test_no_secret_in_reprs_or_reasons() -> None:
    cfg = config()
    answer = refused(cfg, reject_tags=frozenset({"k8s-name:alice-key"}))
    p = plan(cfg, answer)
    text = (
        repr(p)
        + repr(parse_rejection(answer))
        + " ".join(p.left_out.values())
        + " ".join(f.reason for f in p.failures)
    )
    assert "alice-secret-key" not in text
    assert ref("KongConsumer", "a", "alice") in p.left_out


def test_nothing_to_leave_out_means_no_fallback() -> None:
    cfg = config()
    assert without_objects(orjson.dumps(cfg), frozenset({"unknown"})) is None
    assert without_objects(b"not json", frozenset({"x"})) is None
    unmapped = {
        "flattened_errors": [
            {"entity_type": "route", "errors": [{"type": "entity", "message": "x"}]}
        ]
    }
    p = plan(cfg, orjson.dumps(unmapped))
    assert p.body is None and p.unmapped


def test_nothing_left_gets_the_stub() -> None:
    cfg = {
        "_format_version": "3.0",
        "services": [{"name": "s", "host": "a", "tags": tags("Service", "a", "s")}],
    }
    out = without_objects(orjson.dumps(cfg), frozenset({ref("Service", "a", "s").uid}))
    assert out is not None
    assert orjson.loads(out[0]) == {
        "_format_version": "3.0",
        "upstreams": [{"name": "kong"}],
    }


def test_fallback_payload_keeps_metadata_and_drops_left_out_objects() -> None:
    cfg = config()
    web, shop = ref("Ingress", "a", "web"), ref("Ingress", "a", "shop")
    body = orjson.dumps(cfg, option=orjson.OPT_SORT_KEYS)
    payload = ConfigPayload(
        body=body, sha="x", configured=frozenset({web, shop}), changes_seen_at=12.5
    )
    p = plan_fallback(
        body,
        [
            parse_rejection(
                refused(copy.deepcopy(cfg), enabled_plugins=BUNDLED_PLUGINS - {"key-auth"})
            )
        ],
    )
    fb = fallback_payload(payload, p)
    assert fb is not None
    assert fb.configured == frozenset({shop})
    assert fb.changes_seen_at == 12.5
    assert fb.sha != payload.sha and len(fb.sha) == 64
    assert p.removed == 3  # key-auth, the rate-limiting instance on a.web, route a.web


def _entities(cfg: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for etype, items in cfg.items():
        if isinstance(items, list):
            for ent in items:
                out.append((etype, ent))
                for child in ("routes", "targets", "keyauth_credentials", "acls"):
                    out.extend((child, c) for c in ent.get(child, []))
    return [(t, e) for t, e in out if "tags" in e]


def _refusal(entities: list[tuple[str, dict[str, Any]]]) -> bytes:
    errors = []
    for etype, ent in entities:
        entry: dict[str, Any] = {
            "entity_type": etype[:-1],
            "entity_tags": ent["tags"],
            "entity": {k: v for k, v in ent.items() if not isinstance(v, list) or k == "tags"},
            "errors": [{"type": "entity", "message": "refused"}],
        }
        if "id" in ent:
            entry["entity_id"] = ent["id"]
        errors.append(entry)
    return orjson.dumps(
        {"message": "declarative config is invalid: {}", "flattened_errors": errors}
    )


@settings(max_examples=150, deadline=None)
@given(
    st.sets(
        st.integers(min_value=0, max_value=len(_entities(config())) - 1), min_size=1, max_size=4
    )
)
def test_any_refusal_fails_closed(picked: set[int]) -> None:
    """Whatever Kong refuses: what is still served keeps every plugin it had, or no fallback."""
    cfg = config()
    ents = _entities(cfg)
    p = plan(cfg, _refusal([ents[i] for i in sorted(picked)]))
    if p.body is None:
        assert p.blocked
        return
    after = served(p)
    assert_fails_closed(cfg, p)
    # consumers still served keep their group and their credentials
    members = {m["consumer"] for m in after.get("consumer_group_consumers", [])}
    for c in after.get("consumers", []):
        orig = next(o for o in cfg["consumers"] if o["username"] == c["username"])
        assert c == orig
        if any(m["consumer"] == c["username"] for m in cfg["consumer_group_consumers"]):
            assert c["username"] in members
    # nothing refused is served: not its object (a KongClusterPlugin: not that instance)
    left = _entities(after)
    for i in picked:
        _, ent = ents[i]
        if "k8s-kind:KongClusterPlugin" in ent["tags"]:
            assert ent["id"] not in {e.get("id") for _, e in left}
        else:
            assert ent["tags"] not in [e["tags"] for _, e in left]
