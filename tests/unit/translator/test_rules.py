"""Focused rules: IDs, rewrite, options, CLI, failures never carrying Secret values."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import attrs
import pytest
import yaml

from kic_trio._translate_cli import main as cli_main
from kic_trio.models import parse
from kic_trio.translator import TranslatorOptions, translate_objects
from kic_trio.translator._ingress import rewrite_uri_config
from kic_trio.translator._util import entity_id, go_bool, go_int, uuid5


@pytest.mark.parametrize("name", ["", "bar-namespace.foo-svc.80", "ünïcode", "x" * 300])
def test_fast_uuid5_matches_the_standard_library(name: str) -> None:
    ns = uuid.uuid4()
    assert uuid5(ns.bytes, name) == str(uuid.uuid5(ns, name))


def test_service_id_matches_upstream_example() -> None:
    # kic-behaviour.md §3.10, checked against upstream's golden files
    assert (
        entity_id("services", "bar-namespace.foo-svc.80") == "edc1d53e-73b4-5932-9455-0e01f0d53e3f"
    )


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("/api/$1", "/api/$(uri_captures[1])"),
        ("/$12/x", "/$(uri_captures[12])/x"),
        ("/a\\$b", "/a$b"),
        ("/$1$2", "/$(uri_captures[1])$(uri_captures[2])"),
    ],
)
def test_rewrite_uri(uri: str, expected: str) -> None:
    assert rewrite_uri_config(uri) == expected


@pytest.mark.parametrize("uri", ["/$", "/$x", "/\\a", "/\\"])
def test_rewrite_uri_rejects(uri: str) -> None:
    with pytest.raises(ValueError):
        rewrite_uri_config(uri)


def test_go_parsers() -> None:
    assert go_bool("True") is True and go_bool("0") is False and go_bool("yes") is None
    assert (
        go_int("-5") == -5 and go_int("+7") == 7 and go_int(" 5") is None and go_int("1.0") is None
    )


@attrs.frozen
class FakeConfig:
    ingress_class: str = "internal"
    cluster_domain: str = "cluster.local"
    feature_gates: dict[str, bool] = attrs.field(
        factory=lambda: {"RewriteURIs": True, "FillIDs": False}
    )


def test_options_from_config() -> None:
    opts = TranslatorOptions.from_config(FakeConfig())
    assert opts.ingress_class == "internal"
    assert opts.cluster_domain == "cluster.local"
    assert opts.rewrite_uris is True and opts.fill_ids is False
    assert TranslatorOptions.from_config(object()) == TranslatorOptions()


def test_ids_can_be_turned_off() -> None:
    objs = yaml.safe_load_all(
        """
kind: Ingress
metadata: {name: i, namespace: n}
spec:
  ingressClassName: kong
  rules: [{host: h, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}]}}]
"""
    )
    config = translate_objects(list(objs), TranslatorOptions(fill_ids=False)).config
    assert "id" not in config["services"][0]
    assert "id" not in config["services"][0]["routes"][0]


def test_failures_never_carry_secret_values() -> None:
    secret_value = "s3cr3t-VALUE"
    objs = [
        {
            "kind": "Secret",
            "metadata": {
                "name": "k",
                "namespace": "n",
                "labels": {"konghq.com/credential": "key-auth"},
            },
            "stringData": {"key": secret_value, "ttl": secret_value},
        },
        {
            "kind": "Secret",
            "metadata": {"name": "conf", "namespace": "n"},
            "stringData": {"c": secret_value + "{"},
        },
        {
            "kind": "KongConsumer",
            "metadata": {
                "name": "c",
                "namespace": "n",
                "annotations": {"kubernetes.io/ingress.class": "kong"},
            },
            "username": "c",
            "credentials": ["k"],
        },
        {
            "kind": "KongPlugin",
            "metadata": {"name": "p", "namespace": "n"},
            "plugin": "x",
            "configFrom": {"secretKeyRef": {"name": "conf", "key": "c"}},
        },
        {
            "kind": "Ingress",
            "metadata": {"name": "i", "namespace": "n", "annotations": {"konghq.com/plugins": "p"}},
            "spec": {
                "ingressClassName": "kong",
                "rules": [
                    {
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "s", "port": {"number": 80}}},
                                }
                            ]
                        }
                    }
                ],
            },
        },
    ]
    result = translate_objects(objs, TranslatorOptions())
    assert result.failures
    for failure in result.failures:
        assert secret_value not in str(failure)
    secret = parse("Secret", objs[0])
    assert secret_value not in repr(secret)


def test_cli_json_yaml_and_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(
        """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: i, namespace: n}
spec:
  ingressClassName: kong
  rules: [{host: h, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}]}}]
---
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Service, metadata: {name: s, namespace: n}, spec: {ports: [{port: 80}]}}
"""
    )
    assert cli_main(["-f", str(tmp_path), "-o", "json"]) == 0
    out = capsys.readouterr()
    config = json.loads(out.out)
    assert config["services"][0]["name"] == "n.s.80"
    assert out.err == ""

    manifest.write_text(
        manifest.read_text().replace("name: s, namespace", "name: other, namespace")
    )
    assert cli_main(["-f", str(manifest)]) == 1
    out = capsys.readouterr()
    assert yaml.safe_load(out.out)["services"][0]["name"] == "n.s.80"
    assert "failure: Ingress n/i" in out.err
    assert cli_main(["-f", str(manifest), "--no-fail", "--ingress-class", "other"]) == 0
    out = capsys.readouterr()
    assert yaml.safe_load(out.out)["upstreams"] == [{"name": "kong"}]
    assert cli_main(["-f", str(tmp_path / "missing.yaml")]) == 2
    assert cli_main(["-f", str(manifest), "--feature-gates", "Nope=true"]) == 2
