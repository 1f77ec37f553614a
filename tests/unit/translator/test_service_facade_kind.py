"""KongServiceFacade: an Ingress backend with a Kong service of its own (upstream-surface.md §7).

Behind upstream's ``KongServiceFacade`` feature gate (off by default); the goldens
``kic-golden-next/kong-service-facade/*`` cover the exact output, these cover the edges:
missing / foreign-class / broken facades, annotations laid over the Service's, and that a
facade change recomputes only the Kong service that reads it.
"""

from __future__ import annotations

from typing import Any

import pytest

from kic_trio._deltas import Delete, Upsert
from kic_trio.models import parse
from kic_trio.store import Store
from kic_trio.translator import Translator, TranslatorOptions, translate_objects
from kic_trio.translator import _translator as translator_module

GROUP = "incubator.ingress-controller.konghq.com"
ON = TranslatorOptions(kong_service_facade=True)


def _facade(name: str, service: str = "svc", port: Any = 80, **ann: str) -> dict[str, Any]:
    annotations = {"kubernetes.io/ingress.class": "kong", **ann}
    return {
        "apiVersion": f"{GROUP}/v1alpha1",
        "kind": "KongServiceFacade",
        "metadata": {
            "name": name,
            "namespace": "n",
            "uid": f"u-{name}",
            "annotations": annotations,
        },
        "spec": {"backendRef": {"name": service, "port": port}},
    }


def _ingress(name: str, *facades: str) -> dict[str, Any]:
    paths = [
        {
            "path": f"/{f}",
            "pathType": "Prefix",
            "backend": {"resource": {"apiGroup": GROUP, "kind": "KongServiceFacade", "name": f}},
        }
        for f in facades
    ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": "n", "uid": f"u-{name}"},
        "spec": {"ingressClassName": "kong", "rules": [{"http": {"paths": paths}}]},
    }


SERVICE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {
        "name": "svc",
        "namespace": "n",
        "uid": "u-svc",
        "annotations": {"konghq.com/path": "/from-service", "konghq.com/retries": "3"},
    },
    "spec": {"ports": [{"port": 80}, {"port": 81, "name": "other"}]},
}


def _services(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in config.get("services", [])}


def test_gate_off_the_ingress_fails_and_nothing_is_made() -> None:
    result = translate_objects([_ingress("i", "f"), _facade("f"), SERVICE])
    assert "n.f.svc.facade" not in _services(result.config)
    reasons = [f.reason for f in result.failures if f.obj.kind == "Ingress"]
    assert any('set the "KongServiceFacade" feature gate' in r for r in reasons), reasons


def test_facade_gets_its_own_service_with_its_port_tags_and_annotations_over_the_service() -> None:
    facade = _facade("f", port=81, **{"konghq.com/path": "/from-facade"})
    result = translate_objects([_ingress("i", "f"), facade, SERVICE], ON)
    svc = _services(result.config)["n.f.svc.facade"]
    assert svc["host"] == "n.f.svc.facade"
    assert svc["port"] == 81
    assert svc["path"] == "/from-facade"  # the facade's annotation wins
    assert svc["retries"] == 3  # the Service's still applies
    assert "k8s-kind:KongServiceFacade" in svc["tags"]
    assert [r["name"] for r in svc["routes"]] == ["n.i..f.svc.facade"]
    upstream = {u["name"]: u for u in result.config["upstreams"]}["n.f.svc.facade"]
    assert "k8s-name:f" in upstream["tags"]
    configured = {(r.kind, r.name) for r in result.configured}
    assert {("KongServiceFacade", "f"), ("Service", "svc"), ("Ingress", "i")} <= configured


def test_two_facades_on_one_service_make_two_kong_services() -> None:
    result = translate_objects([_ingress("i", "f", "g"), _facade("f"), _facade("g"), SERVICE], ON)
    assert {"n.f.svc.facade", "n.g.svc.facade"} <= set(_services(result.config))


@pytest.mark.parametrize(
    "facade",
    [None, {**_facade("f"), "metadata": {**_facade("f")["metadata"], "annotations": {}}}],
    ids=["missing", "classless-not-default"],
)
def test_a_missing_facade_fails_the_ingress(facade: dict[str, Any] | None) -> None:
    objs = [_ingress("i", "f"), SERVICE] + ([facade] if facade else [])
    result = translate_objects(objs, ON)
    assert "n.f.svc.facade" not in _services(result.config)
    assert any(
        f.obj.kind == "Ingress" and "failed to get KongServiceFacade n/f: not found" in f.reason
        for f in result.failures
    )


def test_a_broken_backend_ref_fails_on_its_field_without_echoing_values() -> None:
    hostile = "port\n<script>"
    result = translate_objects([_ingress("i", "f"), _facade("f", port=hostile), SERVICE], ON)
    mine = [f for f in result.failures if f.obj.kind == "KongServiceFacade"]
    assert any(f.field == "spec.backendRef.port" for f in mine), mine
    assert all(hostile not in str(f) for f in result.failures)
    assert "n.f.svc.facade" not in _services(result.config)
    assert any(
        f.obj.kind == "Ingress" and "KongServiceFacade n/f" in f.reason for f in result.failures
    )


def test_a_facade_change_recomputes_only_its_service_and_matches_a_full_translation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = Store()
    for raw in (_ingress("i", "f", "g"), _facade("f"), _facade("g"), SERVICE):
        store.apply(Upsert(raw["kind"], parse(raw["kind"], raw)))
    tr = Translator(ON)
    tr.translate(store.snapshot())
    store.take_changes()
    seen: list[str] = []
    real = translator_module.translate_service

    def spy(name: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(translator_module, "translate_service", spy)
    changed = _facade("f", port=81)
    store.apply(Upsert("KongServiceFacade", parse("KongServiceFacade", changed)))
    got = tr.translate(store.snapshot(), store.take_changes())
    assert seen == ["n.f.svc.facade"]
    assert got.body == Translator(ON).translate(store.snapshot()).body
    assert _services(got.config)["n.f.svc.facade"]["port"] == 81

    seen.clear()
    store.apply(Delete("KongServiceFacade", "n", "g"))
    got = tr.translate(store.snapshot(), store.take_changes())
    assert seen == ["n.g.svc.facade"]
    assert "n.g.svc.facade" not in _services(got.config)
    assert got.body == Translator(ON).translate(store.snapshot()).body
