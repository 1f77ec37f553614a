"""Properties of the translator over random (and malformed) worlds of objects."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from _kong import available, kong_errors
from _schema import MISSING, schema_errors, validator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import unique_objects, world

from kic_trio.translator import TranslatorOptions, translate_objects

OPTS = TranslatorOptions(rewrite_uris=True, kong_service_facade=True)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(objs=unique_objects())
def test_never_raises_and_body_is_the_config(objs: list[dict[str, Any]]) -> None:
    result = translate_objects(objs, OPTS)
    config = orjson.loads(result.body)
    assert config == result.config
    assert config["_format_version"] == "3.0"
    # canonical: re-serialising with sorted keys gives the same bytes
    assert orjson.dumps(config, option=orjson.OPT_SORT_KEYS) == result.body
    assert len(result.sha) == 64
    for failure in result.failures:
        assert failure.reason


@FAST
@given(objs=unique_objects(), data=st.data())
def test_shuffled_input_gives_the_same_bytes(
    objs: list[dict[str, Any]], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(objs))
    a = translate_objects(objs, OPTS)
    b = translate_objects(shuffled, OPTS)
    assert a.body == b.body
    assert a.sha == b.sha
    assert a.failures == b.failures
    assert a.configured == b.configured


def _references(config: dict[str, Any]) -> list[str]:
    problems = []
    services = {s["name"] for s in config.get("services", [])}
    routes = {r["name"] for s in config.get("services", []) for r in s.get("routes", [])}
    consumers = {c.get("username") or c.get("custom_id") for c in config.get("consumers", [])}
    groups = {g["name"] for g in config.get("consumer_groups", [])}
    upstreams = {u["name"] for u in config.get("upstreams", [])}
    certs = {c["id"] for c in config.get("certificates", [])}
    ca_ids = {c["id"] for c in config.get("ca_certificates", [])}
    for p in config.get("plugins", []):
        for field, known in (
            ("service", services),
            ("route", routes),
            ("consumer", consumers),
            ("consumer_group", groups),
        ):
            if field in p and p[field] not in known:
                problems.append(f"plugin {p['name']} -> missing {field} {p[field]}")
    for c in config.get("certificates", []):
        for sni in c.get("snis", []):
            if sni["certificate"]["id"] not in certs:
                problems.append(f"sni {sni['name']} -> missing certificate")
    for s in config.get("services", []):
        if s["host"] not in upstreams:
            problems.append(f"service {s['name']} -> missing upstream {s['host']}")
        if "client_certificate" in s and s["client_certificate"] not in certs:
            problems.append(f"service {s['name']} -> missing client certificate")
        for ca in s.get("ca_certificates", []):
            if ca not in ca_ids:
                problems.append(f"service {s['name']} -> missing CA certificate {ca}")
    for m in config.get("consumer_group_consumers", []):
        if m["consumer"] not in consumers or m["consumer_group"] not in groups:
            problems.append(f"membership {m} -> missing side")
    sni_names = [sni["name"] for c in config.get("certificates", []) for sni in c.get("snis", [])]
    if len(sni_names) != len(set(sni_names)):
        problems.append("an SNI is served by two certificates")
    names = [s["name"] for s in config.get("services", [])]
    if len(names) != len(set(names)):
        problems.append("duplicate service names")
    return problems


@FAST
@given(objs=unique_objects(garbled=False))
def test_every_reference_points_at_an_existing_entity(objs: list[dict[str, Any]]) -> None:
    config = translate_objects(objs, OPTS).config
    assert _references(config) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(objs=unique_objects(garbled=False))
def test_output_is_schema_valid(objs: list[dict[str, Any]]) -> None:
    assert validator() is not None, MISSING
    config = translate_objects(objs, OPTS).config
    errors = schema_errors(config)
    assert errors == [], errors


def test_sha_is_stable_for_equal_bodies() -> None:
    a = translate_objects([], OPTS)
    b = translate_objects([], OPTS)
    assert a.body == b.body == b'{"_format_version":"3.0","upstreams":[{"name":"kong"}]}'
    assert a.sha == b.sha and a.empty
    assert a.sha != hashlib.sha256(b"").hexdigest()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(objs=st.one_of(unique_objects(), world()))
def test_kong_would_load_it(objs: list[dict[str, Any]]) -> None:
    """Bad input never stops the world: whatever the objects, Kong accepts the config."""
    assert available(), MISSING
    config = translate_objects(objs, OPTS).config
    assert kong_errors(config) == []
