"""The fallback configuration: the refused config minus the refused objects and their dependents."""

from __future__ import annotations

from typing import Any

import orjson

from kic_trio._payload import ConfigPayload
from kic_trio.kong._fallback import fallback_payload, without_objects
from kic_trio.models import ObjectRef


def t(uid: str) -> list[str]:
    return [f"k8s-uid:{uid}", "k8s-kind:Ingress"]


def config() -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [
            {"name": "s-bad", "host": "a", "tags": t("svc-bad"), "routes": [{"name": "r-under-bad", "paths": ["/x"], "tags": t("ing-ok")}]},
            {"name": "s-ok", "host": "b", "tags": t("svc-ok"), "routes": [
                {"name": "r-bad", "paths": ["/y"], "tags": t("ing-bad")},
                {"name": "r-ok", "paths": ["/z"], "tags": t("ing-ok")},
            ]},
        ],
        "plugins": [
            {"name": "key-auth", "route": "r-bad", "tags": t("plugin")},
            {"name": "cors", "route": "r-ok", "tags": t("plugin")},
            {"name": "acl", "service": "s-bad", "tags": t("plugin")},
            {"name": "rate-limiting", "consumer": "c-bad"},
        ],
        "upstreams": [{"name": "up-bad", "tags": t("svc-bad"), "targets": [{"target": "10.0.0.1:80"}]}],
        "targets": [{"upstream": "up-bad", "target": "10.0.0.2:80"}],
        "consumers": [{"username": "c-bad", "tags": t("cons-bad"), "keyauth_credentials": [{"key": "k"}]}],
        "consumer_groups": [{"name": "g"}],
        "consumer_group_consumers": [{"consumer": "c-bad", "consumer_group": "g"}, {"consumer": "nobody", "consumer_group": "g"}],
    }


def test_refused_objects_and_their_dependents_are_left_out() -> None:
    out = without_objects(orjson.dumps(config()), frozenset({"svc-bad", "ing-bad", "cons-bad"}))
    assert out is not None
    body, removed = out
    cfg = orjson.loads(body)
    assert [s["name"] for s in cfg["services"]] == ["s-ok"]
    assert [r["name"] for r in cfg["services"][0]["routes"]] == ["r-ok"]
    # plugins on the dropped route / service / consumer go too; the one on r-ok stays
    assert [p["name"] for p in cfg["plugins"]] == ["cors"]
    assert cfg["upstreams"] == [] and cfg["targets"] == []
    assert cfg["consumers"] == []
    # a reference that never resolved is not the fallback's business: only c-bad's goes
    assert cfg["consumer_group_consumers"] == [{"consumer": "nobody", "consumer_group": "g"}]
    # s-bad (+ its route), r-bad, 3 plugins, up-bad (+ target), top target, c-bad (+ key), cgc
    assert removed == 12
    assert body == orjson.dumps(cfg, option=orjson.OPT_SORT_KEYS)


def test_nothing_tagged_means_no_fallback() -> None:
    assert without_objects(orjson.dumps(config()), frozenset({"unknown"})) is None
    assert without_objects(b"not json", frozenset({"x"})) is None


def test_nothing_left_gets_the_stub() -> None:
    cfg = {"_format_version": "3.0", "services": [{"name": "s", "host": "a", "tags": t("only")}]}
    out = without_objects(orjson.dumps(cfg), frozenset({"only"}))
    assert out is not None
    assert orjson.loads(out[0]) == {"_format_version": "3.0", "services": [], "upstreams": [{"name": "kong"}]}


def test_fallback_payload_keeps_metadata_and_drops_configured_objects() -> None:
    bad = ObjectRef("Ingress", "ns", "bad", "ing-bad")
    ok = ObjectRef("Ingress", "ns", "ok", "ing-ok")
    body = orjson.dumps(config(), option=orjson.OPT_SORT_KEYS)
    p = ConfigPayload(body=body, sha="x", configured=frozenset({bad, ok}), changes_seen_at=12.5)
    out = fallback_payload(p, frozenset({"ing-bad"}))
    assert out is not None
    fb, removed = out
    assert removed == 2  # r-bad and the key-auth plugin on it
    assert fb.configured == frozenset({ok})
    assert fb.changes_seen_at == 12.5
    assert fb.sha != p.sha and len(fb.sha) == 64
