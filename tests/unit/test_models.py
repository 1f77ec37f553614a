"""Models: parse() keeps what is usable and records every problem with a field path."""

from __future__ import annotations

import base64
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from kic_trio.models import (
    KINDS,
    Ingress,
    KongClusterPlugin,
    KongUpstreamPolicy,
    Secret,
    Service,
    UnknownObject,
    class_of,
    ingress_class_of,
    names_other_class,
    parse,
    secret_has_kong_label,
    secret_refs,
)


def test_ingress_parses_rules_tls_and_class() -> None:
    raw = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "a",
            "namespace": "ns",
            "uid": "u1",
            "resourceVersion": "7",
            "creationTimestamp": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
            "annotations": {"konghq.com/strip-path": "true", "other.io/x": "dropped"},
        },
        "spec": {
            "ingressClassName": "kong",
            "rules": [
                {
                    "host": "example.com",
                    "http": {
                        "paths": [
                            {
                                "path": "/x",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "s", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ],
            "tls": [{"hosts": ["example.com"], "secretName": "tls"}],
        },
    }
    ing = parse("Ingress", raw)
    assert isinstance(ing, Ingress)
    assert ing.failures == ()
    assert ing.ref.group == "networking.k8s.io" and ing.ref.uid == "u1"
    assert ing.resource_version == "7"
    assert ing.created == "2024-01-02T03:04:05Z"
    assert dict(ing.annotations) == {"konghq.com/strip-path": "true"}
    assert ing.rules[0].paths[0].backend.port_number == 80
    assert ing.tls[0].secret_name == "tls"
    assert ingress_class_of(ing) == "kong" == ingress_class_of(raw)
    assert secret_refs(ing) == {("ns", "tls")}


def test_wrong_types_become_failures_with_paths() -> None:
    raw = {
        "metadata": {"name": "a", "namespace": "ns"},
        "spec": {"rules": [{"host": 5, "http": {"paths": "nope"}}], "tls": {"x": 1}},
    }
    ing = parse("Ingress", raw)
    fields = {f.field: f.reason for f in ing.failures}
    assert fields["spec.rules[0].host"] == "expected a string, got int"
    assert fields["spec.rules[0].http.paths"] == "expected a list, got string"
    assert fields["spec.tls"] == "expected a list, got object"
    assert isinstance(ing, Ingress) and ing.rules[0].host == ""


def test_secret_decodes_data_and_hides_it() -> None:
    raw = {
        "metadata": {
            "name": "s",
            "namespace": "ns",
            "labels": {"konghq.com/credential": "key-auth"},
        },
        "data": {"key": base64.b64encode(b"topsecret").decode(), "bad": "!!!"},
        "stringData": {"plain": "p"},
    }
    sec = parse("Secret", raw)
    assert isinstance(sec, Secret)
    assert sec.data["key"] == b"topsecret" and sec.text("plain") == "p"
    assert "topsecret" not in repr(sec)
    assert [f.field for f in sec.failures] == ["data.bad"]
    assert secret_has_kong_label(sec.labels)
    assert not secret_has_kong_label({"x": "true"}) and secret_has_kong_label({"x": "true"}, "x")


def test_service_ports_and_class_helpers() -> None:
    svc = parse(
        "Service",
        {
            "metadata": {"name": "s", "namespace": "n"},
            "spec": {"ports": [{"port": 80, "targetPort": "http"}, {"port": "x"}]},
        },
    )
    assert isinstance(svc, Service)
    assert [p.port for p in svc.ports] == [80]
    assert svc.ports[0].target_port == "http"
    assert [f.field for f in svc.failures] == ["spec.ports[1].port"]
    kcp = parse(
        "KongClusterPlugin",
        {
            "metadata": {
                "name": "p",
                "namespace": "ignored",
                "annotations": {"kubernetes.io/ingress.class": "other"},
            },
            "plugin": "x",
        },
    )
    assert isinstance(kcp, KongClusterPlugin) and kcp.ref.namespace == ""
    assert class_of("KongClusterPlugin", kcp) == "other"
    assert names_other_class("KongClusterPlugin", kcp, "kong")
    assert not names_other_class("Service", svc, "kong")


def test_upstream_policy_is_translated_to_kong_fields() -> None:
    pol = parse(
        "KongUpstreamPolicy",
        {
            "metadata": {"name": "p", "namespace": "n"},
            "spec": {
                "algorithm": "consistent-hashing",
                "hashOn": {"header": "h"},
                "hashOnFallback": {"cookie": "c"},
                "healthchecks": {"active": {"httpPath": "/s", "headers": {"X-A": ["v"]}}},
            },
        },
    )
    assert isinstance(pol, KongUpstreamPolicy)
    assert dict(pol.upstream) == {
        "algorithm": "consistent-hashing",
        "hash_on": "header",
        "hash_on_header": "h",
        "healthchecks": {"active": {"http_path": "/s", "headers": {"X-A": ["v"]}}},
    }
    assert [f.field for f in pol.failures] == ["spec.hashOnFallback.cookie"]


def test_unknown_kind_and_garbage() -> None:
    assert isinstance(parse("Nope", {"metadata": {"name": "x"}}), UnknownObject)
    model = parse("Ingress", "not a dict")
    assert model.failures and model.ref.kind == "Ingress"


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
interesting_keys = st.sampled_from(
    [
        "metadata",
        "spec",
        "data",
        "plugin",
        "config",
        "configFrom",
        "username",
        "credentials",
        "endpoints",
        "ports",
        "rules",
        "tls",
        "name",
        "namespace",
        "annotations",
        "labels",
        "host",
        "http",
        "paths",
        "backend",
        "service",
        "port",
        "hashOn",
        "healthchecks",
        "consumerGroups",
    ]
)
objects = st.recursive(
    json_like,
    lambda inner: st.dictionaries(interesting_keys, inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(sorted(KINDS)), raw=objects)
def test_parse_never_raises(kind: str, raw: object) -> None:
    model = parse(kind, raw)
    assert model.ref.kind == kind
    for failure in model.failures:
        assert failure.obj == model.ref
