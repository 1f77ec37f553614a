"""FakeKong validates stream routes (tcp/tls/udp) as Kong does (kong-validation.md §2.2):
exclusive protocol sets, ``sources``/``destinations`` records, ``snis`` names per router
flavor, and expression-only stream routes in the expressions flavor only.

The rules run without decK's schema (they are FakeKong's own checks), so nothing is skipped.
"""

from __future__ import annotations

from typing import Any

import pytest

from kic_trio.testing.fakekong._validate import Rules, to_json_tree, validate

TRADITIONAL = "traditional_compatible"
EXPRESSIONS = "expressions"


def _errors(route: dict[str, Any], flavor: str = TRADITIONAL) -> Any:
    config = {
        "_format_version": "3.0",
        "services": [{"name": "s", "host": "h", "port": 80, "protocol": "tcp", "routes": [route]}],
    }
    tree = validate(config, None, Rules(router_flavor=flavor))
    return to_json_tree(tree.root)["services"][0]["routes"][0] if tree else None


def _route(**fields: Any) -> dict[str, Any]:
    return {"name": "r", **fields}


@pytest.mark.parametrize("flavor", [TRADITIONAL, EXPRESSIONS])
def test_what_the_translator_sends_is_accepted(flavor: str) -> None:
    tcp = _route(protocols=["tcp", "tls"], destinations=[{"port": 9000}], snis=["t.example.com"])
    udp = _route(protocols=["udp"], destinations=[{"port": 53}, {"ip": "10.0.0.0/8"}])
    assert _errors(tcp, flavor) is None
    assert _errors(udp, flavor) is None


def test_http_and_stream_protocols_are_mutually_exclusive() -> None:
    got = _errors(_route(protocols=["http", "tcp"], destinations=[{"port": 9000}]))
    assert got == {
        "protocols": "these sets are mutually exclusive: ('http', 'https'), ('tcp', 'tls', 'udp')"
    }


def test_destination_and_source_records() -> None:
    got = _errors(
        _route(
            protocols=["tcp"],
            destinations=[{}, {"ip": "nope"}, {"port": 70000}],
            sources=[{"ip": "10.0.0.1"}],
        )
    )
    assert got == {
        "destinations": [
            "at least one of these fields must be non-empty: 'ip', 'port'",
            {"ip": "invalid ip or cidr range: 'nope'"},
            {"port": "value should be between 0 and 65535"},
        ]
    }


def test_a_wildcard_sni_needs_the_expressions_flavor() -> None:
    route = _route(protocols=["tls"], snis=["*.example.com"])
    assert _errors(route, TRADITIONAL) == {"snis": ["invalid value: *.example.com"]}
    assert _errors(route, EXPRESSIONS) is None
    bad = _route(protocols=["tls"], snis=["a.*.example.com"])
    assert _errors(bad, EXPRESSIONS) == {
        "snis": ["invalid wildcard: must be placed at leftmost or rightmost label"]
    }
    assert _errors(_route(protocols=["tls"], snis=["10.0.0.1"])) == {"snis": ["must not be an IP"]}


def test_a_stream_route_with_only_an_expression() -> None:
    route = _route(protocols=["tcp"], expression="net.dst.port == 9000", priority=1)
    assert _errors(route, EXPRESSIONS) is None
    got = _errors(route, TRADITIONAL)
    assert got["expression"] == "unknown field" and got["priority"] == "unknown field"
    assert got["@entity"] == [
        "must set one of 'sources', 'destinations', 'snis' when 'protocols' is 'tcp', 'tls' or 'udp'"
    ]
    assert _errors(_route(protocols=["udp"]), EXPRESSIONS) == {
        "@entity": [
            "must set one of 'sources', 'destinations', 'snis', 'expression' when 'protocols' "
            "is 'tcp', 'tls' or 'udp'"
        ]
    }


def test_http_fields_on_a_stream_route_are_refused() -> None:
    got = _errors(_route(protocols=["udp"], destinations=[{"port": 53}], paths=["/"]))
    assert got == {
        "paths": "cannot set 'paths' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'"
    }
