"""Two units holding the same plugin relation: one giving it up must not take it from the other.

Found by the hostile ``incremental == full`` property: an Ingress whose rule route and default
backend route have the same Kong route name (``<ns>.<name>``) moves that name from one Kong
service to another in one change. The new service's unit records the relation "route a.x uses
plugin a/true" before the old service's unit drops the same relation; with relations kept as a
set, the drop removed it, the missing plugin stopped blocking the route, and the incremental
translation served it without its plugin while a full translation left it out.
"""

from __future__ import annotations

from typing import Any

from kic_trio._deltas import Upsert
from kic_trio.models import parse
from kic_trio.store import Store
from kic_trio.translator import Translator, TranslatorOptions

OPTS = TranslatorOptions(rewrite_uris=True, kong_service_facade=True)
META = {
    "name": "x",
    "uid": "uid-a-x",
    "creationTimestamp": "2024-01-01T00:00:00Z",
    "namespace": "a",
}
FACADE = {
    "resource": {
        "apiGroup": "incubator.ingress-controller.konghq.com",
        "kind": "KongServiceFacade",
        "name": "x",
    }
}


def _ingress(spec: dict[str, Any]) -> dict[str, Any]:
    meta = dict(META, annotations={"konghq.com/plugins": "true"})  # no such KongPlugin
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec}


def _upsert(store: Store, raw: dict[str, Any]) -> None:
    store.apply(Upsert(raw["kind"], parse(raw["kind"], raw)))


def test_a_route_moving_between_services_stays_blocked_by_its_missing_plugin() -> None:
    store = Store()
    _upsert(
        store,
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {
                "name": "kong",
                "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"},
            },
            "spec": {"controller": "konghq.com/kic"},
        },
    )
    _upsert(
        store,
        _ingress(
            {
                "rules": [
                    {"host": "", "http": {"paths": []}},
                    {"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": FACADE}]}},
                ],
                "defaultBackend": {"service": {"name": "x", "port": 9_223_372_036_854_775_808}},
            }
        ),
    )
    incremental = Translator(OPTS)
    incremental.translate(store.snapshot())
    store.take_changes()
    _upsert(
        store,
        _ingress(
            {"rules": [], "defaultBackend": {"service": {"name": "x", "port": {"number": 80}}}}
        ),
    )
    snap = store.snapshot()
    got = incremental.translate(snap, store.take_changes())
    want = Translator(OPTS).translate(snap)
    assert b'"services"' not in want.body  # fail closed: the plugin does not exist
    assert got.body == want.body
    assert got.failures == want.failures
