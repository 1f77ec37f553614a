"""The expressions router for Ingress: the ATC builder, priorities and escaping.

Expected values are upstream's (``reference/upstream-surface.md`` §2: the golden worked
examples and the probe run against KIC v3.5.13); the golden variants themselves run in
``tests/conformance/test_golden.py``.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given
from test_hostile_properties import SETTINGS, hostile_world

from kic_trio.testing.fakekong._atc import check_expression
from kic_trio.translator import TranslatorOptions, translate_objects
from kic_trio.translator._expressions import (
    Predicate,
    all_of,
    any_of,
    ingress_matcher,
    ingress_priority,
    quote,
    valid_host,
    valid_sni,
)

EXPR = TranslatorOptions(router_flavor="expressions", cluster_domain="cluster.local")


def _objects(
    paths: list[dict[str, Any]],
    *,
    host: str | None = "a.example.com",
    annotations: dict[str, str] | None = None,
    default_backend: bool = False,
) -> list[dict[str, Any]]:
    rule: dict[str, Any] = {"http": {"paths": paths}}
    if host is not None:
        rule["host"] = host
    spec: dict[str, Any] = {"ingressClassName": "kong", "rules": [rule]}
    if default_backend:
        spec["defaultBackend"] = {"service": {"name": "svc", "port": {"number": 80}}}
    return [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {
                "name": "ing",
                "namespace": "ns",
                "uid": "u1",
                "annotations": annotations or {},
            },
            "spec": spec,
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "svc", "namespace": "ns", "uid": "u2"},
            "spec": {"ports": [{"port": 80}]},
        },
    ]


def _path(path: str, kind: str = "ImplementationSpecific") -> dict[str, Any]:
    return {
        "path": path,
        "pathType": kind,
        "backend": {"service": {"name": "svc", "port": {"number": 80}}},
    }


def _routes(objects: list[dict[str, Any]], opts: TranslatorOptions = EXPR) -> list[dict[str, Any]]:
    result = translate_objects(objects, opts)
    return [r for s in result.config.get("services", []) for r in s.get("routes", [])]


PROBE_ANNOTATIONS = {
    "konghq.com/host-aliases": "*.alias.com",
    "konghq.com/methods": "get,POST,bad1",
    "konghq.com/headers.X-Env": "prod,~*^stag",
    "konghq.com/headers.Host": "x",
    "konghq.com/snis": "a.example.com",
}
PROBE_EXPRESSION = (
    '((http.host == "a.example.com") || (http.host =^ ".alias.com")) && '
    '(((http.path == "/api") || (http.path ^= "/api/")) || (http.path ~ "^/v[0-9]+/x")) && '
    '((http.headers.x_env == "prod") || (http.headers.x_env ~ "^stag")) && '
    '((http.method == "GET") || (http.method == "POST")) && (tls.sni == "a.example.com")'
)


def test_probe_example_matches_upstream() -> None:
    (route,) = _routes(
        _objects([_path("/api", "Prefix"), _path("/~/v[0-9]+/x")], annotations=PROBE_ANNOTATIONS)
    )
    assert route["expression"] == PROBE_EXPRESSION
    assert route["priority"] == 63788854345738 == (3 << 44) + (5 << 41) + (2 << 33) + (1 << 16) + 10
    # the annotations feeding the expression are not applied as fields
    for field in (
        "paths",
        "hosts",
        "headers",
        "methods",
        "snis",
        "regex_priority",
        "path_handling",
    ):
        assert field not in route
    assert route["https_redirect_status_code"] == 426


def test_probe_reports_the_dropped_method_without_its_value() -> None:
    result = translate_objects(
        _objects([_path("/api", "Prefix")], annotations=PROBE_ANNOTATIONS), EXPR
    )
    reasons = [str(f) for f in result.failures]
    assert any("konghq.com/methods" in r and "1 invalid value" in r for r in reasons), reasons
    assert not any("bad1" in r.lower() for r in reasons)


@pytest.mark.parametrize(
    ("paths", "expression", "priority"),
    [
        (
            [("ImplementationSpecific", "/")],
            '(http.host == "example.com") && (http.path ^= "/")',
            57178899611649,
        ),
        (
            [("Exact", "/whatever")],
            '(http.host == "example.com") && (http.path == "/whatever")',
            57178899677193,
        ),
        (
            [("ImplementationSpecific", "/~/foo/\\d{3}")],
            '(http.host == "example.com") && (http.path ~ "^/foo/\\\\d{3}")',
            57178899677194,
        ),
    ],
)
def test_golden_worked_examples(
    paths: list[tuple[str, str]], expression: str, priority: int
) -> None:
    assert ingress_matcher(paths, "/~", "example.com", {}).expression() == expression
    assert ingress_priority(paths, "/~", "example.com", {}) == priority


def test_grouping_parenthesises_only_with_two_parts_and_drops_empty_ones() -> None:
    a = Predicate("http.path", "==", "/a")
    b = Predicate("http.path", "==", "/b")
    assert all_of(a).expression() == 'http.path == "/a"'
    assert all_of(a, any_of(), None).expression() == 'http.path == "/a"'
    assert any_of(a, b).expression() == '(http.path == "/a") || (http.path == "/b")'
    assert all_of(any_of(a, b), a).expression() == (
        '((http.path == "/a") || (http.path == "/b")) && (http.path == "/a")'
    )
    assert all_of().expression() == ""


@pytest.mark.parametrize(
    ("kind", "path", "expression"),
    [
        ("Prefix", "/", 'http.path ^= "/"'),
        ("Prefix", "/foo/", '(http.path == "/foo") || (http.path ^= "/foo/")'),
        ("Exact", "/x/", 'http.path == "/x/"'),
        ("ImplementationSpecific", "/~", 'http.path ~ "^/"'),
        ("ImplementationSpecific", "/~^/a$", 'http.path ~ "^/a$"'),
        ("ImplementationSpecific", "/plain", 'http.path ^= "/plain"'),
    ],
)
def test_path_matchers(kind: str, path: str, expression: str) -> None:
    assert ingress_matcher([(kind, path)], "/~", "", {}).expression() == expression


def test_priority_traits() -> None:
    base = 3 << 44
    # no host, one Prefix path "/": one match field, regex-like bit, length 1
    assert ingress_priority([("Prefix", "/")], "/~", "", {}) == base + (1 << 41) + (1 << 16) + 1
    # a wildcard rule host clears the plain-host bit; plain IS path length in bytes
    assert ingress_priority([("ImplementationSpecific", "/é")], "/~", "*.x.com", {}) == (
        base + (2 << 41) + 3
    )
    # path length is capped at 65535, header count at 255
    long = [("Exact", "/" + "a" * 70000)]
    assert ingress_priority(long, "/~", "", {}) & 0xFFFF == 0xFFFF
    many = {f"konghq.com/headers.h{i}": "v" for i in range(300)}
    assert (ingress_priority([], "/~", "", many) >> 33) & 0xFF == 255


def test_default_backend_is_a_catch_all_at_priority_zero() -> None:
    routes = _routes(_objects([_path("/a", "Exact")], default_backend=True))
    default = next(r for r in routes if r["name"] == "ns.ing")
    assert default["expression"] == 'http.path ^= "/"' and default["priority"] == 0
    assert "paths" not in default and "path_handling" not in default


def test_field_annotations_still_apply() -> None:
    ann = {
        "konghq.com/strip-path": "true",
        "konghq.com/protocols": "https",
        "konghq.com/regex-priority": "9",
        "konghq.com/path-handling": "v1",
    }
    (route,) = _routes(_objects([_path("/a", "Exact")], annotations=ann))
    assert route["strip_path"] is True and route["protocols"] == ["https"]
    assert "regex_priority" not in route and "path_handling" not in route


def test_protocols_are_not_normalised() -> None:
    """Upstream skips ``normalizeProtocols`` for expression routes: grpc stays beside http and
    ``strip_path`` is kept (traditional routes get ``http, https`` and no ``strip_path``)."""
    ann = {"konghq.com/protocols": "grpc,http", "konghq.com/strip-path": "true"}
    objects = _objects([_path("/a", "Exact")], annotations=ann)
    (route,) = _routes(objects)
    assert route["protocols"] == ["grpc", "http"] and route["strip_path"] is True
    (old,) = _routes(objects, attrs.evolve(EXPR, router_flavor="traditional_compatible"))
    assert old["protocols"] == ["http", "https"] and "strip_path" not in old


def test_host_header_is_skipped_not_refused() -> None:
    """Traditional routes refuse a Host header match (Kong would); expression routes skip it."""
    objects = _objects([_path("/a", "Exact")], annotations={"konghq.com/headers.Host": "x"})
    (route,) = _routes(objects)
    assert route["expression"] == '(http.host == "a.example.com") && (http.path == "/a")'
    assert _routes(objects, attrs.evolve(EXPR, router_flavor="traditional_compatible")) == []


def test_traditional_flavors_give_traditional_routes() -> None:
    objects = _objects([_path("/a", "Exact")])
    for flavor in ("traditional", "traditional_compatible"):
        (route,) = _routes(objects, attrs.evolve(EXPR, router_flavor=flavor))
        assert "expression" not in route and route["paths"] == ["~/a$"]


def test_unknown_flavor_is_refused() -> None:
    with pytest.raises(ValueError, match="router_flavor"):
        TranslatorOptions(router_flavor="atc")  # type: ignore[arg-type]


# --- hostile input: no value can leave its string literal ---------------------------------

INJECTIONS = [
    '"',
    "\\",
    '\\"',
    'x" || http.path ^= "/',
    'x\\" || http.path ^= "/',
    "a\nb\rc\td",
    '") || (true',
]


@pytest.mark.parametrize("value", INJECTIONS)
def test_quote_round_trips(value: str) -> None:
    quoted = quote(value)
    assert _unquote(quoted) == value


@pytest.mark.parametrize("value", INJECTIONS)
def test_annotation_values_cannot_inject_matchers(value: str) -> None:
    ann = {"konghq.com/headers.X-Env": value, "konghq.com/headers-separator": ";"}
    path = "/~/" + value.replace("\n", "").replace("\r", "")
    expr = ingress_matcher([("ImplementationSpecific", path)], "/~", "h.com", ann).expression()
    literals = _literals(expr)
    # exactly three literals (host, path, header) and the text outside them is the fixed shape
    assert len(literals) == 3, expr
    assert literals[2] == value
    outside = _outside_literals(expr)
    assert outside == "(http.host == ) && (http.path ~ ) && (http.headers.x_env == )"


@pytest.mark.parametrize("name", ["a b", "x.y", 'q"', "x==1"])
def test_a_header_name_that_is_no_field_name_refuses_the_ingress(name: str) -> None:
    """The name becomes ``http.headers.<name>``: one Kong refuses is not served at all (a
    narrower match left out would widen the route), with a failure naming the annotation."""
    key = f"konghq.com/headers.{name}"
    result = translate_objects(_objects([_path("/a", "Exact")], annotations={key: "v"}), EXPR)
    assert [r for s in result.config.get("services", []) for r in s.get("routes", [])] == []
    assert any(key in str(f) for f in result.failures)


def test_hostile_hosts_methods_snis_are_dropped() -> None:
    ann = {
        "konghq.com/host-aliases": 'x.com" || http.path ^= "/',
        "konghq.com/methods": 'GET" || true',
        "konghq.com/snis": 'a.com"',
    }
    expr = ingress_matcher([("Exact", "/a")], "/~", "h.com", ann).expression()
    assert expr == '(http.host == "h.com") && (http.path == "/a")'
    assert not valid_host("a..b") and not valid_host("-a.com") and valid_host("*.a.b-c.*")
    assert not valid_sni("*.a.com") and valid_sni("a.b")


def _literals(expr: str) -> list[str]:
    out, i = [], 0
    while i < len(expr):
        if expr[i] == '"':
            j = i + 1
            while expr[j] != '"':
                j += 2 if expr[j] == "\\" else 1
            out.append(_unquote(expr[i : j + 1]))
            i = j + 1
        else:
            i += 1
    return out


def _outside_literals(expr: str) -> str:
    out, i = [], 0
    while i < len(expr):
        if expr[i] == '"':
            j = i + 1
            while expr[j] != '"':
                j += 2 if expr[j] == "\\" else 1
            i = j + 1
        else:
            out.append(expr[i])
            i += 1
    return "".join(out)


def _unquote(lit: str) -> str:
    assert lit[0] == lit[-1] == '"'
    body, out, i = lit[1:-1], [], 0
    escapes = {"\\": "\\", '"': '"', "n": "\n", "r": "\r", "t": "\t"}
    while i < len(body):
        if body[i] == "\\":
            out.append(escapes[body[i + 1]])
            i += 2
        else:
            assert body[i] != '"', "an unescaped quote inside a literal"
            out.append(body[i])
            i += 1
    return "".join(out)


# --- property: no hostile object breaks the expression's syntax ----------------------------


@SETTINGS
@given(objs=hostile_world)
def test_hostile_objects_give_well_formed_expressions(objs: list[dict[str, Any]]) -> None:
    result = translate_objects(objs, EXPR)
    for service in result.config.get("services", []):
        for route in service.get("routes", []):
            assert "paths" not in route and "hosts" not in route
            check_expression(route["expression"], regex=False)
