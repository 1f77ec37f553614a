"""KongCustomEntity types and Kong's schemas (issue 16 item 2, the gap the property test found).

A type Kong does not have must never be sent (Kong refuses the whole configuration with
``unknown field``): a 404 from ``GET /schemas/<type>`` makes it a Failure on that
KongCustomEntity, and a type whose schema is not known yet (Kong not asked or unreachable,
``kic-trio translate``) is left out the same way unless the built-in table knows it. The
foreign fields come from Kong's answer when there is one.
"""

from __future__ import annotations

from typing import Any

from kic_trio.translator import (
    BUILTIN_SCHEMAS,
    EntitySchema,
    TranslatorOptions,
    translate_objects,
)

_NS = "default"


def _svc(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": _NS, "uid": f"{name}-uid"},
        "spec": {"ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]},
    }


def _ing(name: str, service: str) -> dict[str, Any]:
    path = {
        "path": "/",
        "pathType": "Prefix",
        "backend": {"service": {"name": service, "port": {"number": 80}}},
    }
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": name,
            "namespace": _NS,
            "uid": f"{name}-uid",
            "annotations": {"konghq.com/plugins": "gql"},
        },
        "spec": {"ingressClassName": "kong", "rules": [{"http": {"paths": [path]}}]},
    }


_PLUGIN = {
    "apiVersion": "configuration.konghq.com/v1",
    "kind": "KongPlugin",
    "metadata": {"name": "gql", "namespace": _NS, "uid": "gql-uid"},
    "plugin": "degraphql",
    "config": {"graphql_server_path": "/v1/graphql"},
}


def _kce(name: str, etype: str, parent: bool = True) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "controllerName": "kong",
        "type": etype,
        "fields": {"uri": "/contacts", "query": "query{ contacts { name } }"},
    }
    if parent:
        spec["parentRef"] = {
            "group": "configuration.konghq.com",
            "kind": "KongPlugin",
            "name": "gql",
        }
    return {
        "apiVersion": "configuration.konghq.com/v1alpha1",
        "kind": "KongCustomEntity",
        "metadata": {"name": name, "namespace": _NS, "uid": f"{name}-uid"},
        "spec": spec,
    }


def _failures(result: Any) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for f in result.failures:
        if f.obj.kind == "KongCustomEntity":
            out.setdefault(f.obj.name, []).append((f.field, f.reason))
    return out


def _objects() -> list[dict[str, Any]]:
    return [
        _svc("s1"),
        _ing("i1", "s1"),
        _PLUGIN,
        _kce("gql-route", "degraphql_routes"),
        _kce("stranger", "other_things", parent=False),
    ]


def test_a_type_kong_does_not_have_is_a_failure_and_the_rest_goes_out() -> None:
    schemas = (EntitySchema.missing("other_things"), BUILTIN_SCHEMAS["degraphql_routes"])
    result = translate_objects(_objects(), TranslatorOptions(entity_schemas=schemas))
    assert "other_things" not in result.config
    [(field, reason)] = _failures(result)["stranger"]
    assert field == "spec.type"
    assert reason.startswith("failed to fetch entity schema for entity type other_things")
    assert "no such entity type" in reason
    assert "gql-route" not in _failures(result)
    [route] = result.config["degraphql_routes"]
    assert route["service"] == {"id": result.config["services"][0]["id"]}
    assert result.config["services"][0]["routes"]  # the rest goes out


def test_before_kong_answered_unknown_types_are_left_out_known_ones_use_the_builtin_table() -> None:
    result = translate_objects(_objects())  # no schema learned: kic-trio translate, or early
    assert "other_things" not in result.config
    [(field, reason)] = _failures(result)["stranger"]
    assert (field, "not known yet" in reason) == ("spec.type", True)
    [route] = result.config["degraphql_routes"]
    assert route["service"] == {"id": result.config["services"][0]["id"]}


def test_kongs_answer_gives_the_foreign_fields_and_wins_over_the_builtin_table() -> None:
    answer = {
        "fields": [
            {"id": {"type": "string", "uuid": True, "auto": True}},
            {"route": {"type": "foreign", "reference": "routes", "required": True}},
            {"uri": {"type": "string", "required": True}},
            "not a field",
            {"odd": "not attributes"},
        ]
    }
    kong_says = EntitySchema.from_kong("other_things", answer)
    assert kong_says == EntitySchema("other_things", True, (("route", "routes"),), ("route",))
    # Kong's degraphql_routes without a foreign field: the entity goes out as written
    bare = EntitySchema.from_kong("degraphql_routes", {"fields": [{"uri": {"type": "string"}}]})
    opts = TranslatorOptions(entity_schemas=(kong_says, bare))
    objs = [*_objects()[:-1], _kce("stranger", "other_things")]
    result = translate_objects(objs, opts)
    assert not _failures(result)
    [other] = result.config["other_things"]
    assert other["route"] == {"id": result.config["services"][0]["routes"][0]["id"]}
    [route] = result.config["degraphql_routes"]
    assert "service" not in route


def test_a_required_foreign_field_kong_names_is_checked() -> None:
    kong_says = EntitySchema("other_things", True, (("route", "routes"),), ("route",))
    objs = [_kce("lonely", "other_things", parent=False)]
    result = translate_objects(objs, TranslatorOptions(entity_schemas=(kong_says,)))
    assert "other_things" not in result.config
    [(field, reason)] = _failures(result)["lonely"]
    assert field == "spec.parentRef" and "Kong requires route" in reason


def test_schemas_are_hashable_options_in_a_stable_order() -> None:
    a = TranslatorOptions(
        entity_schemas=(EntitySchema.missing("zz"), BUILTIN_SCHEMAS["degraphql_routes"])
    )
    b = TranslatorOptions(
        entity_schemas=[BUILTIN_SCHEMAS["degraphql_routes"], EntitySchema.missing("zz")]
    )
    assert a == b and hash(a) == hash(b)
