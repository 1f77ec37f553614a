"""Issue 16 (2): KongCustomEntity and KongVault translate as upstream (upstream-surface.md §3, §4.1).

Custom entities: one entity per attached Kong service of the parent plugin (foreign field
filled with the service's ID), exactly ``spec.fields`` without a parent or attachments, nothing
for another controller's object, clear failures for known types, missing parents and
cross-namespace parents. Vaults: one per prefix (oldest wins), sorted by prefix descending,
upstream's IDs, class-filtered. Incremental: a change to the parent plugin's attachments
recomputes the custom entity (and only the units it touches).
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from kic_trio._deltas import Delete, Upsert
from kic_trio.config import Config
from kic_trio.models import parse
from kic_trio.store import Store
from kic_trio.translator import Translator, TranslatorOptions, translate_objects

_NS = "default"


def _svc(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": _NS, "uid": f"{name}-uid"},
        "spec": {"ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]},
    }


def _ing(name: str, service: str, plugins: str = "gql", path: str = "/") -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": name,
            "namespace": _NS,
            "uid": f"{name}-uid",
            "annotations": {"konghq.com/plugins": plugins} if plugins else {},
        },
        "spec": {
            "ingressClassName": "kong",
            "rules": [
                {
                    "http": {
                        "paths": [
                            {
                                "path": path,
                                "pathType": "Prefix",
                                "backend": {"service": {"name": service, "port": {"number": 80}}},
                            }
                        ]
                    }
                }
            ],
        },
    }


PLUGIN = {
    "apiVersion": "configuration.konghq.com/v1",
    "kind": "KongPlugin",
    "metadata": {"name": "gql", "namespace": _NS, "uid": "gql-uid"},
    "plugin": "degraphql",
    "config": {"graphql_server_path": "/v1/graphql"},
}


def _kce(name: str = "ce1", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "controllerName": "kong",
        "type": "degraphql_routes",
        "parentRef": {"group": "configuration.konghq.com", "kind": "KongPlugin", "name": "gql"},
        "fields": {"uri": "/contacts", "query": "query{ contacts { name } }"},
    }
    body.update(spec)
    return {
        "apiVersion": "configuration.konghq.com/v1alpha1",
        "kind": "KongCustomEntity",
        "metadata": {"name": name, "namespace": _NS, "uid": f"{name}-uid"},
        "spec": {k: v for k, v in body.items() if v is not None},
    }


def _vault(name: str, prefix: str, created: str, cls: str | None = "kong") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "uid": f"{name}-uid", "creationTimestamp": created}
    if cls:
        meta["annotations"] = {"kubernetes.io/ingress.class": cls}
    return {
        "apiVersion": "configuration.konghq.com/v1alpha1",
        "kind": "KongVault",
        "metadata": meta,
        "spec": {"backend": "env", "prefix": prefix, "config": {"prefix": "SECRET_"}},
    }


def _sid(name: str) -> str:
    ns = uuid.uuid5(uuid.UUID("fd02801f-0957-4a15-a55a-c8d9606f30b5"), "services")
    return str(uuid.uuid5(ns, name))


def _reasons(result: Any, kind: str) -> list[tuple[str, str]]:
    return [(f.field, f.reason) for f in result.failures if f.obj.kind == kind]


def test_one_entity_per_service_the_parent_plugin_is_attached_to() -> None:
    objs = [_svc("s1"), _svc("s2"), _ing("i1", "s1"), _ing("i2", "s2", path="/b"), PLUGIN, _kce()]
    result = translate_objects(objs)
    got = result.config["degraphql_routes"]
    assert got == [
        {"query": "query{ contacts { name } }", "service": {"id": i}, "uri": "/contacts"}
        for i in sorted([_sid("default.s1.80"), _sid("default.s2.80")])
    ]
    assert not _reasons(result, "KongCustomEntity")
    assert any(r.kind == "KongCustomEntity" for r in result.configured)


def test_without_parent_or_attachments_the_fields_go_out_as_given() -> None:
    fields = {"uri": "/u", "query": "q", "service": {"id": "given"}}
    alone = translate_objects([_kce(parentRef=None, fields=fields)])
    assert alone.config["degraphql_routes"] == [fields]
    unattached = translate_objects([PLUGIN, _kce(fields=fields)])
    assert unattached.config["degraphql_routes"] == [fields]


def test_an_entity_kong_would_refuse_for_a_missing_service_is_left_out_with_a_failure() -> None:
    # found by the property test against FakeKong: degraphql_routes requires `service`
    fields = {"uri": "/u", "query": "q"}
    for objs in ([_kce(parentRef=None, fields=fields)], [PLUGIN, _kce(fields=fields)]):
        vault = _vault("v-ok", "ok", "2025-01-01T00:00:00Z")
        result = translate_objects([*objs, vault])
        assert result.config.get("degraphql_routes", []) == []
        assert _reasons(result, "KongCustomEntity") == [
            (
                "spec.parentRef",
                "Kong requires service on degraphql_routes: give it in spec.fields, or a "
                "spec.parentRef to a plugin attached to one: left out",
            )
        ]
        assert [v["prefix"] for v in result.config["vaults"]] == ["ok"]  # the rest goes out


def test_objects_of_another_controller_are_ignored_and_class_less_never_accepted() -> None:
    ingress_class = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": {
            "name": "kong",
            "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"},
        },
        "spec": {"controller": "ingress-controllers.konghq.com/kong"},
    }
    result = translate_objects([ingress_class, _kce(controllerName="other", parentRef=None)])
    assert "degraphql_routes" not in result.config
    assert not result.failures


def test_bad_custom_entities_fail_with_their_field_and_the_rest_goes_out() -> None:
    cross = _kce(
        "cross",
        parentRef={
            "group": "configuration.konghq.com",
            "kind": "KongPlugin",
            "name": "gql",
            "namespace": "elsewhere",
        },
    )
    objs = [
        _svc("s1"),
        _ing("i1", "s1"),
        PLUGIN,
        _kce("known", type="services"),
        _kce("missing", parentRef={**_kce()["spec"]["parentRef"], "name": "nope"}),
        cross,
        _kce("garbage", fields=["not", "an", "object"]),
        _kce("ok"),
    ]
    result = translate_objects(objs)
    by_name = {}
    for f in result.failures:
        if f.obj.kind == "KongCustomEntity":
            by_name.setdefault(f.obj.name, []).append((f.field, f.reason))
    assert by_name["known"] == [
        ("spec.type", "cannot use known entity type services in custom entity")
    ]
    assert by_name["missing"][0][0] == "spec.parentRef"
    assert "not found" in by_name["missing"][0][1]
    assert by_name["cross"][0][0] == "spec.parentRef"
    assert by_name["garbage"][0] == ("spec.fields", "expected an object, got list")
    assert len(result.config["degraphql_routes"]) == 1  # "ok" still goes out
    assert result.config["services"]


def test_vaults_one_per_prefix_oldest_wins_sorted_by_prefix_descending() -> None:
    objs = [
        _vault("a", "alpha", "2025-01-01T00:00:00Z"),
        _vault("z", "zeta", "2025-01-01T00:00:00Z"),
        _vault("old", "dup", "2024-01-01T00:00:00Z"),
        _vault("new", "dup", "2025-01-01T00:00:00Z"),
        _vault("theirs", "other", "2025-01-01T00:00:00Z", cls="other"),
        _vault("classless", "none", "2025-01-01T00:00:00Z", cls=None),
    ]
    result = translate_objects(objs)
    vaults = result.config["vaults"]
    assert [v["prefix"] for v in vaults] == ["zeta", "dup", "alpha"]
    ns = uuid.uuid5(uuid.UUID("fd02801f-0957-4a15-a55a-c8d9606f30b5"), "vaults")
    assert vaults[0]["id"] == str(uuid.uuid5(ns, "zeta"))
    assert vaults[0]["name"] == "env" and vaults[0]["config"] == {"prefix": "SECRET_"}
    assert "description" not in vaults[0]
    assert not any(t.startswith("k8s-namespace:") for t in vaults[0]["tags"])
    assert "k8s-kind:KongVault" in vaults[0]["tags"]
    assert _reasons(result, "KongVault") == [("spec.prefix", "spec.prefix 'dup' is duplicate")]
    assert [f.obj.name for f in result.failures] == ["new"]


def test_a_vault_missing_its_backend_fails_on_that_field() -> None:
    bad = _vault("b", "p", "2025-01-01T00:00:00Z")
    del bad["spec"]["backend"]
    result = translate_objects([bad, _vault("g", "q", "2025-01-01T00:00:00Z")])
    assert _reasons(result, "KongVault") == [("spec.backend", "is required")]
    assert [v["prefix"] for v in result.config["vaults"]] == ["q"]


def _apply(store: Store, raw: dict[str, Any]) -> None:
    store.apply(Upsert(raw["kind"], parse(raw["kind"], raw)))


def test_incremental_follows_the_parent_plugins_attachments() -> None:
    """Attaching, moving and detaching the plugin recomputes the custom entity, like a full run."""
    store = Store()
    for raw in (_svc("s1"), _svc("s2"), _ing("i1", "s1", plugins=""), PLUGIN, _kce()):
        _apply(store, raw)
    tr = Translator(TranslatorOptions())
    first = tr.translate(store.snapshot())
    store.take_changes()
    # the parent is attached to nothing: no service to fill, which Kong requires -> left out
    assert "degraphql_routes" not in first.config
    assert [f.field for f in first.failures if f.obj.kind == "KongCustomEntity"] == [
        "spec.parentRef"
    ]
    steps = [
        _ing("i1", "s1"),  # attach: the entity gets s1
        _ing("i1", "s2"),  # the route moves to s2
        _vault("v", "env", "2025-01-01T00:00:00Z"),
        copy.deepcopy(_kce(fields={"uri": "/x", "query": "q"})),
    ]
    for raw in steps:
        _apply(store, raw)
        snap = store.snapshot()
        got = tr.translate(snap, store.take_changes())
        want = Translator(TranslatorOptions()).translate(snap)
        assert got.body == want.body and got.failures == want.failures
    assert got.config["degraphql_routes"] == [
        {"uri": "/x", "query": "q", "service": {"id": _sid("default.s2.80")}}
    ]
    store.apply(Delete("KongPlugin", _NS, "gql"))
    snap = store.snapshot()
    got = tr.translate(snap, store.take_changes())
    assert got.body == Translator(TranslatorOptions()).translate(snap).body
    assert "degraphql_routes" not in got.config
    assert [f.field for f in got.failures if f.obj.kind == "KongCustomEntity"] == ["spec.parentRef"]


def test_the_feature_gate_turns_custom_entities_off() -> None:
    off = TranslatorOptions.from_config(
        Config(feature_gates="KongCustomEntity=false,FillIDs=false")
    )
    assert off.custom_entities is False
    result = translate_objects([_kce(parentRef=None)], off)
    assert "degraphql_routes" not in result.config and not result.failures


def test_hostile_fields_fail_that_entity_alone() -> None:
    nested: dict[str, Any] = {}
    node = nested
    for _ in range(200):
        node["a"] = {}
        node = node["a"]
    objs = [
        _kce("deep", parentRef=None, fields={"uri": "/d", "query": "q", "x": nested}),
        _kce("surrogate", parentRef=None, fields={"uri": "\ud800", "query": "q"}),
        _kce(
            "ok",
            parentRef=None,
            fields={"uri": "/contacts", "query": "q", "service": {"id": "given"}},
        ),
        {
            **_vault("v-bad", "bad", "2025-01-01T00:00:00Z"),
            "spec": {"backend": "env", "prefix": "bad", "config": {"k": "\ud800"}},
        },
        _vault("v-ok", "ok", "2025-01-01T00:00:00Z"),
    ]
    result = translate_objects(objs)
    assert [e["uri"] for e in result.config["degraphql_routes"]] == ["/contacts"]
    assert [v["prefix"] for v in result.config["vaults"]] == ["ok"]
    failed = {f.obj.name for f in result.failures}
    assert failed == {"deep", "surrogate", "v-bad"}
    assert all("\ud800" not in f.reason for f in result.failures)
