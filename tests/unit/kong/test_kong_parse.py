"""Reading Kong's 400 bodies (kic-behaviour §2.6/§6, kong-validation §4) back to objects."""

from __future__ import annotations

import json

import pytest

from kic_trio.kong import ResponseParsingError, failures_from, parse_rejection, ref_from_tags
from kic_trio.models import Failure, ObjectRef

INGRESS_TAGS = [
    "k8s-name:web",
    "k8s-namespace:shop",
    "k8s-kind:Ingress",
    "k8s-uid:1a2b",
    "k8s-group:networking.k8s.io",
    "k8s-version:v1",
]
WEB = ObjectRef("Ingress", "shop", "web", "1a2b", "networking.k8s.io", "v1")


def body(**kw: object) -> bytes:
    base: dict[str, object] = {
        "code": 14,
        "name": "invalid declarative configuration",
        "message": "declarative config is invalid: {}",
        "fields": {},
    }
    base.update(kw)
    # Kong escapes "/" as "\/"
    return json.dumps(base).replace("/", "\\/").encode()


def test_field_error_maps_to_the_tagged_object() -> None:
    rej = parse_rejection(
        body(
            flattened_errors=[
                {
                    "entity_type": "route",
                    "entity_name": "shop.web.web.80",
                    "entity_id": "8f0c64cc-0d6c-5c5b-9d2d-5b7d0c0cb5d6",
                    "entity_tags": INGRESS_TAGS,
                    "entity": {"name": "shop.web.web.80", "paths": ["api"]},
                    "errors": [
                        {"type": "field", "field": "paths.1", "message": "should start with: / (fixed path) or ~/ (regex path)"}
                    ],
                }
            ]
        )
    )
    failures, unmapped = failures_from(rej)
    assert unmapped == ()
    assert failures == (
        Failure(WEB, "", "invalid paths.1: should start with: / (fixed path) or ~/ (regex path)"),
    )
    assert rej.entities[0].entity_id == "8f0c64cc-0d6c-5c5b-9d2d-5b7d0c0cb5d6"


def test_entity_errors_are_keyed_by_type_and_name() -> None:
    rej = parse_rejection(
        body(
            flattened_errors=[
                {
                    "entity_type": "service",
                    "entity_name": "foo",
                    "entity_tags": INGRESS_TAGS,
                    "errors": [
                        {"type": "entity", "message": "uniqueness violation: 'services' entity with name set to 'foo' already declared"},
                        {"type": "field", "field": "port", "message": "value should be between 0 and 65535"},
                    ],
                }
            ]
        )
    )
    failures, _ = failures_from(rej)
    assert [f.reason for f in failures] == [
        "invalid service:foo: uniqueness violation: 'services' entity with name set to 'foo' already declared",
        "invalid port: value should be between 0 and 65535",
    ]


def test_messages_array_becomes_indexed_keys() -> None:
    rej = parse_rejection(
        body(
            flattened_errors=[
                {
                    "entity_type": "route",
                    "entity_tags": INGRESS_TAGS,
                    "errors": [{"type": "field", "field": "methods", "messages": ["invalid method", None, "bad"]}],
                }
            ]
        )
    )
    failures, _ = failures_from(rej)
    assert [f.reason for f in failures] == ["invalid methods[0]: invalid method", "invalid methods[2]: bad"]


def test_entities_without_object_tags_are_unmapped() -> None:
    rej = parse_rejection(
        body(
            flattened_errors=[
                {"entity_type": "plugin", "entity_name": "key-auth", "entity_tags": ["p1"], "errors": [
                    {"type": "field", "field": "route.id", "message": "missing primary key"}]},
                {"entity_type": "upstream", "entity_name": "kong", "errors": [{"type": "entity", "message": "x"}]},
            ]
        )
    )
    failures, unmapped = failures_from(rej)
    assert failures == ()
    assert [(u.entity_type, u.problems) for u in unmapped] == [
        ("plugin", (("route.id", "missing primary key"),)),
        ("upstream", (("upstream:kong", "x"),)),
    ]


@pytest.mark.parametrize("empty", [[], {}])
def test_empty_flattened_errors_either_encoding(empty: object) -> None:
    """Master encodes no entity errors as ``[]``, 3.9.x as ``{}`` (a dangling reference alone)."""
    rej = parse_rejection(body(flattened_errors=empty))
    assert rej.entities == ()
    assert rej.message == "declarative config is invalid: {}"


def test_unflattened_body_keeps_fields() -> None:
    rej = parse_rejection(
        body(message="declarative config is invalid: {_format_version=\"required field missing\"}",
             fields={"_format_version": "required field missing"})
    )
    assert rej.entities == ()
    assert rej.fields == {"_format_version": "required field missing"}


@pytest.mark.parametrize("raw", [b"<html>nope</html>", b"[1,2]", json.dumps({"flattened_errors": 3}).encode()])
def test_unreadable_bodies_raise(raw: bytes) -> None:
    with pytest.raises(ResponseParsingError):
        parse_rejection(raw)


def test_tags_need_name_kind_uid_and_namespace_unless_cluster_scoped() -> None:
    assert ref_from_tags(["k8s-name:a", "k8s-kind:Ingress", "k8s-uid:u"]) is None  # no namespace
    assert ref_from_tags(["k8s-name:a", "k8s-namespace:n", "k8s-kind:Ingress"]) is None  # no uid
    assert ref_from_tags(["k8s-name:a", "k8s-kind:KongClusterPlugin", "k8s-uid:u", "k8s-group:configuration.konghq.com"]) == ObjectRef(
        "KongClusterPlugin", "", "a", "u", "configuration.konghq.com", "v1"
    )
    # a core kind: empty group, version from the tag
    assert ref_from_tags(["k8s-name:s", "k8s-namespace:n", "k8s-kind:Service", "k8s-uid:u", "k8s-version:v1"]) == ObjectRef(
        "Service", "n", "s", "u", "", "v1"
    )
    # values may contain ':' (only the first one separates)
    assert ref_from_tags(["k8s-name:a:b", "k8s-namespace:n", "k8s-kind:Secret", "k8s-uid:u"]) == ObjectRef(
        "Secret", "n", "a:b", "u"
    )
