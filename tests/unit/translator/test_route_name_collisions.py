"""Issue 13 (4): route names cannot collide across Ingresses; the oldest keeps the name.

Route names (and IDs) join namespace, Ingress, Service, host and port with ``.``. Ingress
``a.x`` -> Service ``s`` on host ``h.example.com`` and Ingress ``a`` -> Service ``x`` on host
``s.h.example.com`` both make ``n.a.x.s.h.example.com.80``; Kong refuses the duplicate and
with it the whole configuration. Both Ingresses are valid for the API server.
"""

from __future__ import annotations

from typing import Any

from kic_trio._deltas import Delete, Upsert
from kic_trio.models import parse
from kic_trio.store import Store
from kic_trio.translator import Translator, TranslatorOptions, translate_objects

NAME = "n.a.x.s.h.example.com.80"


def _ingress(name: str, service: str, host: str, created: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": name,
            "namespace": "n",
            "uid": f"uid-{name}",
            "creationTimestamp": created,
        },
        "spec": {
            "ingressClassName": "kong",
            "rules": [
                {
                    "host": host,
                    "http": {
                        "paths": [
                            {
                                "path": f"/{name}",
                                "pathType": "ImplementationSpecific",
                                "backend": {"service": {"name": service, "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ],
        },
    }


def _service(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "n", "uid": f"uid-svc-{name}"},
        "spec": {"ports": [{"port": 80}]},
    }


DOTTED = _ingress("a.x", "s", "h.example.com", "2025-01-02T00:00:00Z")
PLAIN = _ingress("a", "x", "s.h.example.com", "2025-01-01T00:00:00Z")
SERVICES = [_service("s"), _service("x")]


def _routes(config: dict[str, Any]) -> dict[str, list[str]]:
    """Route name -> the paths of every route with that name."""
    out: dict[str, list[str]] = {}
    for svc in config.get("services", []):
        for r in svc.get("routes", []):
            out.setdefault(r["name"], []).extend(r["paths"])
    return out


def test_the_names_really_collide_without_arbitration() -> None:
    dotted = translate_objects([DOTTED, *SERVICES], TranslatorOptions()).config
    plain = translate_objects([PLAIN, *SERVICES], TranslatorOptions()).config
    assert list(_routes(dotted)) == list(_routes(plain)) == [NAME]


def test_the_oldest_ingress_keeps_the_name_the_other_fails() -> None:
    for order in ([DOTTED, PLAIN], [PLAIN, DOTTED]):
        result = translate_objects([*order, *SERVICES], TranslatorOptions())
        assert _routes(result.config) == {NAME: ["/a"]}  # PLAIN is older
        (failure,) = [f for f in result.failures if f.obj.name == "a.x"]
        assert failure.field == "metadata.name"
        assert NAME in failure.reason and "older Ingress n/a" in failure.reason
        assert all(f.obj.name != "a" for f in result.failures)
        assert {r.name for r in result.configured if r.kind == "Ingress"} == {"a"}


def test_same_creation_time_falls_back_to_namespace_and_name() -> None:
    dotted = {
        **DOTTED,
        "metadata": {**DOTTED["metadata"], "creationTimestamp": "2025-01-01T00:00:00Z"},
    }
    result = translate_objects([dotted, PLAIN, *SERVICES], TranslatorOptions())
    assert _routes(result.config) == {NAME: ["/a"]}  # "a" < "a.x"
    assert [f.obj.name for f in result.failures] == ["a.x"]


def _upsert(store: Store, raw: dict[str, Any]) -> None:
    store.apply(Upsert(raw["kind"], parse(raw["kind"], raw)))


def test_incremental_arbitration_matches_a_full_translation() -> None:
    """Add the younger, then the older, update, delete the holder: same as from scratch."""
    store = Store()
    for raw in [*SERVICES, DOTTED]:
        _upsert(store, raw)
    tr = Translator(TranslatorOptions())
    first = tr.translate(store.snapshot())
    store.take_changes()
    assert _routes(first.config) == {NAME: ["/a.x"]}

    def step() -> Any:
        snap = store.snapshot()
        got = tr.translate(snap, store.take_changes())
        want = Translator(TranslatorOptions()).translate(snap)
        assert got.body == want.body
        assert got.failures == want.failures
        assert got.configured == want.configured
        return got

    _upsert(store, PLAIN)  # the older one arrives: it takes the name over
    got = step()
    assert _routes(got.config) == {NAME: ["/a"]}
    assert [f.obj.name for f in got.failures] == ["a.x"]

    _upsert(store, DOTTED)  # the younger one changes: it still loses
    got = step()
    assert _routes(got.config) == {NAME: ["/a"]}

    store.apply(Delete("Ingress", "n", "a"))  # the holder goes: the other one is served
    got = step()
    assert _routes(got.config) == {NAME: ["/a.x"]}
    assert got.failures == ()

    store.apply(Delete("Ingress", "n", "a.x"))
    got = step()
    assert _routes(got.config) == {}


def test_backend_service_names_with_dots_are_refused() -> None:
    # not possible through the API server; offline, n.x.s.80 would collide across backends
    bad = _ingress("b", "x.s", "b.example.com", "2025-01-01T00:00:00Z")
    result = translate_objects([bad, *SERVICES], TranslatorOptions())
    assert _routes(result.config) == {}
    assert any(f.obj.name == "b" and f.field.endswith(".backend.service") for f in result.failures)


def test_an_invalid_host_cannot_alias_a_wildcard() -> None:
    # "*" becomes "_" in route names; "_.example.com" is no host (offline only): refused
    ing = _ingress("c", "s", "*.example.com", "2025-01-01T00:00:00Z")
    rule = ing["spec"]["rules"][0]
    ing["spec"]["rules"].append({**rule, "host": "_.example.com"})
    result = translate_objects([ing, *SERVICES], TranslatorOptions())
    (route,) = [r for s in result.config["services"] for r in s["routes"]]
    assert route["name"] == "n.c.s._.example.com.80"
    assert route["hosts"] == ["*.example.com"]
    assert [(f.field, f.reason) for f in result.failures] == [
        ("spec.rules[1].host", "not a valid host name; rule left out")
    ]


def test_a_default_backend_route_cannot_take_a_rule_routes_name() -> None:
    """Ingress ``i.s.h.example.com.80``'s default route is ``n.i.s.h.example.com.80``, the
    name of Ingress ``i``'s rule route to ``s`` on ``h.example.com``: the rule keeps it."""
    rule = _ingress("i", "s", "h.example.com", "2025-01-02T00:00:00Z")
    default = _ingress("i.s.h.example.com.80", "x", "unused.example.com", "2025-01-01T00:00:00Z")
    default["spec"] = {
        "ingressClassName": "kong",
        "defaultBackend": {"service": {"name": "x", "port": {"number": 80}}},
    }
    clash = "n.i.s.h.example.com.80"
    store = Store()
    for raw in [*SERVICES, default]:
        _upsert(store, raw)
    tr = Translator(TranslatorOptions())
    assert _routes(tr.translate(store.snapshot()).config) == {clash: ["/"]}
    store.take_changes()

    def step() -> Any:
        snap = store.snapshot()
        got = tr.translate(snap, store.take_changes())
        want = Translator(TranslatorOptions()).translate(snap)
        assert got.body == want.body
        assert got.failures == want.failures
        return got

    _upsert(store, rule)
    got = step()
    assert _routes(got.config) == {clash: ["/i"]}
    (failure,) = got.failures
    assert failure.obj.name == "i.s.h.example.com.80"
    assert failure.field == "spec.defaultBackend"

    store.apply(Delete("Ingress", "n", "i"))
    got = step()
    assert _routes(got.config) == {clash: ["/"]}
    assert got.failures == ()
