"""Hostile objects (issue 13): each one fails on its own object, the rest still goes out.

Every case here crashed the translator before the unit guards and the plugin-config checks:
each test builds the hostile object next to a healthy baseline Ingress and checks that the
baseline's route is still in the output, the hostile object has a failure, and nothing raised.
"""

from __future__ import annotations

import base64
import datetime
import json
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kic_trio._translate_cli import load_manifests, read_manifests
from kic_trio._translate_cli import main as cli_main
from kic_trio.models import parse
from kic_trio.translator import ManifestError, TranslatorOptions, translate_objects
from kic_trio.translator._plugins import PluginConfigError, check_config, load_yaml_config

NS = "team"
OPTS = TranslatorOptions()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _meta(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": NS, "uid": f"uid-{name}", **extra}


def _ingress(name: str, path: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    ann = {"kubernetes.io/ingress.class": "kong", **(annotations or {})}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": _meta(name, annotations=ann, creationTimestamp="2025-01-01T00:00:00Z"),
        "spec": {
            "rules": [
                {
                    "host": "example.com",
                    "http": {
                        "paths": [
                            {
                                "path": path,
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "svc", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ]
        },
    }


def _service(annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta("svc", annotations=annotations or {}),
        "spec": {"ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]},
    }


def _baseline() -> list[dict[str, Any]]:
    return [_ingress("baseline", "/baseline"), _service()]


def _secret(name: str, data: dict[str, bytes], labels: dict[str, str] | None = None) -> Any:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(name, labels=labels or {}),
        "data": {k: _b64(v) for k, v in data.items()},
    }


def _plugin(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "configuration.konghq.com/v1",
        "kind": "KongPlugin",
        "metadata": _meta(name),
        "plugin": "request-transformer",
        **spec,
    }


def _routes(result: Any) -> set[str]:
    return {p for s in result.config.get("services", []) for r in s["routes"] for p in r["paths"]}


def _served(result: Any, *paths: str) -> bool:
    got = {p.lstrip("~").rstrip("/$") for p in _routes(result)}
    return set(paths) <= got


def _failed(result: Any, kind: str, name: str) -> list[str]:
    return [f.reason for f in result.failures if (f.obj.kind, f.obj.name) == (kind, name)]


def _with_plugin_from_secret(data: bytes, *, patch: bool, key: str = "config") -> Any:
    """The baseline, plus an Ingress protected by a plugin whose config comes from a Secret."""
    ref = {"secretKeyRef": {"name": "conf", "key": key}}
    spec = {"configPatches": [{"path": "/add", "valueFrom": ref}]} if patch else {"configFrom": ref}
    objs = [
        *_baseline(),
        _ingress("protected", "/protected", {"konghq.com/plugins": "p"}),
        _plugin("p", **spec),
        _secret("conf", {key: data}),
    ]
    return translate_objects(objs, OPTS)


def _assert_plugin_failed(result: Any) -> None:
    assert _served(result, "/baseline")
    assert _failed(result, "KongPlugin", "p")
    # fail closed: the route the plugin protects does not go out without it
    assert not any(p["name"] == "request-transformer" for p in result.config.get("plugins", []))
    assert not _served(result, "/protected")
    assert any(
        "is not served until it is fixed" in r for r in _failed(result, "Ingress", "protected")
    )


# --- configFrom / configPatches Secrets -----------------------------------------------------


@pytest.mark.parametrize("patch", [False, True])
@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**400])
def test_secret_config_with_integer_beyond_int64(patch: bool, value: int) -> None:
    body = f'{{"add": {{"headers": {value}}}}}' if not patch else str(value)
    result = _with_plugin_from_secret(body.encode(), patch=patch)
    _assert_plugin_failed(result)
    assert any("64-bit" in r for r in _failed(result, "KongPlugin", "p"))


@pytest.mark.parametrize("patch", [False, True])
@pytest.mark.parametrize("depth", [300, 5000, 100_000])
def test_secret_config_nested_deeply(patch: bool, depth: int) -> None:
    body = '{"a":' * depth + "1" + "}" * depth if not patch else "[" * depth + "]" * depth
    result = _with_plugin_from_secret(body.encode(), patch=patch)
    _assert_plugin_failed(result)
    assert any("nested" in r for r in _failed(result, "KongPlugin", "p"))


@pytest.mark.parametrize("patch", [False, True])
@pytest.mark.parametrize("word", ["NaN", "Infinity", "-Infinity"])
def test_secret_config_with_non_finite_number(patch: bool, word: str) -> None:
    body = f'{{"add": {{"x": {word}}}}}' if not patch else word
    result = _with_plugin_from_secret(body.encode(), patch=patch)
    _assert_plugin_failed(result)
    assert b"null" not in result.body or "NaN" not in result.body.decode()
    assert any("finite" in r for r in _failed(result, "KongPlugin", "p"))


_ALIAS_BOMB = "\n".join(
    ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    + [
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}" + f",*{chr(97 + i)}" * 8 + "]"
        for i in range(9)
    ]
).encode()


def test_yaml_alias_bomb_fails_fast_without_expanding() -> None:
    started = time.process_time()
    result = _with_plugin_from_secret(_ALIAS_BOMB, patch=False)
    # no timing assert: the bomb would need ~10^9 nodes; refusing the first alias keeps it small
    assert time.process_time() - started >= 0
    _assert_plugin_failed(result)
    assert any("alias" in r for r in _failed(result, "KongPlugin", "p"))


@pytest.mark.parametrize("text", ["a: &x 1\nb: *x\n", "a: &x {k: 1}\n"])
def test_yaml_anchors_and_aliases_are_refused(text: str) -> None:
    with pytest.raises(PluginConfigError, match=r"alias|anchor"):
        load_yaml_config(text.encode())


def test_yaml_config_without_aliases_still_works() -> None:
    result = _with_plugin_from_secret(b"add:\n  headers: ['x-a:1']\n", patch=False)
    plugins = [p for p in result.config.get("plugins", []) if p["name"] == "request-transformer"]
    assert plugins and plugins[0]["config"] == {"add": {"headers": ["x-a:1"]}}
    assert not _failed(result, "KongPlugin", "p")


@pytest.mark.parametrize("patch", [False, True])
def test_secret_config_that_is_not_utf8(patch: bool) -> None:
    body = b'{"add": "\xff\xfe"}' if not patch else b'"\xff"'
    result = _with_plugin_from_secret(body, patch=patch)
    _assert_plugin_failed(result)


def test_secret_config_too_big() -> None:
    body = json.dumps({"add": {"headers": ["x" * 1000] * 3000}}).encode()
    result = _with_plugin_from_secret(body, patch=False)
    _assert_plugin_failed(result)
    assert any("too big" in r for r in _failed(result, "KongPlugin", "p"))


@pytest.mark.parametrize(
    "path", ["/list/99999999999999999999999", "/list/-1", "/list/00", "/list/+1", "/list/5"]
)
def test_json_patch_index_out_of_range(path: str) -> None:
    objs = [
        *_baseline(),
        _ingress("protected", "/protected", {"konghq.com/plugins": "p"}),
        _plugin(
            "p",
            config={"list": ["a"]},
            configPatches=[
                {"path": path, "valueFrom": {"secretKeyRef": {"name": "conf", "key": "v"}}}
            ],
        ),
        _secret("conf", {"v": b'"b"'}),
    ]
    result = translate_objects(objs, OPTS)
    _assert_plugin_failed(result)


def test_json_patch_into_list_at_a_valid_index_still_works() -> None:
    objs = [
        *_baseline(),
        _ingress("protected", "/protected", {"konghq.com/plugins": "p"}),
        _plugin(
            "p",
            config={"list": ["a"]},
            configPatches=[
                {"path": "/list/0", "valueFrom": {"secretKeyRef": {"name": "conf", "key": "v"}}}
            ],
        ),
        _secret("conf", {"v": b'"b"'}),
    ]
    result = translate_objects(objs, OPTS)
    plugins = [p for p in result.config.get("plugins", []) if p["name"] == "request-transformer"]
    assert plugins[0]["config"] == {"list": ["b", "a"]}


# --- inline config ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        {"add": {"x": 2**64}},
        {"add": {"x": float("nan")}},
        {"add": {"x": float("inf")}},
        {"add": {"x": [1.5, float("-inf")]}},
    ],
)
def test_inline_config_checked(config: dict[str, Any]) -> None:
    objs = [
        *_baseline(),
        _ingress("protected", "/protected", {"konghq.com/plugins": "p"}),
        _plugin("p", config=config),
    ]
    result = translate_objects(objs, OPTS)
    assert _served(result, "/baseline")
    assert _failed(result, "KongPlugin", "p")
    assert b"NaN" not in result.body and b"null" not in result.body


def test_inline_config_nested_deeply() -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(5000):
        node["a"] = {}
        node = node["a"]
    objs = [
        *_baseline(),
        _ingress("protected", "/p", {"konghq.com/plugins": "p"}),
        _plugin("p", config=deep),
    ]
    result = translate_objects(objs, OPTS)
    assert _served(result, "/baseline")
    assert any("nested" in r for r in _failed(result, "KongPlugin", "p"))


def test_check_config_limits() -> None:
    check_config({"a": [1, 2.5, "x", None, True, {"b": -(2**63)}]})
    for bad in ({"a": 2**63}, {"a": float("nan")}, {"a": {"b": [[[[]]]]}}):
        with pytest.raises(PluginConfigError):
            check_config(bad, max_depth=4)


# --- other crash cases --------------------------------------------------------------------------


def _ca_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ca.example.com")])
    start = datetime.datetime(2025, 1, 1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def test_ca_cert_secret_with_non_utf8_after_the_pem() -> None:
    pem = _ca_pem()
    objs = [
        *_baseline(),
        _secret("ca", {"id": b"ca-1", "cert": pem + b"\xff\xfe"}, {"konghq.com/ca-cert": "true"}),
    ]
    result = translate_objects(objs, OPTS)
    assert _served(result, "/baseline")
    # the certificate itself is good: it goes to Kong re-encoded as clean PEM, without the
    # trailing bytes (what upstream sends is the parsed certificate, never the raw text)
    (ca,) = result.config["ca_certificates"]
    assert ca["cert"].strip() == pem.decode().strip()
    assert "\\xff" not in str(result.failures)


def test_empty_headers_separator() -> None:
    objs = [
        *_baseline(),
        _ingress(
            "hdr",
            "/hdr",
            {"konghq.com/headers-separator": "", "konghq.com/headers.x-team": "a,b"},
        ),
    ]
    result = translate_objects(objs, OPTS)
    # an empty separator is refused on its Ingress (its header match cannot be read, and
    # serving the route without it would widen it); everything else still goes out
    assert _served(result, "/baseline")
    assert not _served(result, "/hdr")
    assert any(
        f.obj.name == "hdr" and f.field.endswith("konghq.com/headers-separator")
        for f in result.failures
    )


@pytest.mark.parametrize("kind", [1, None, ["Ingress"], {"a": 1}, True])
def test_manifest_whose_kind_is_not_a_string(tmp_path: Path, kind: Any) -> None:
    docs = [{"apiVersion": "v1", "kind": kind, "metadata": {"name": "x"}}, *_baseline()]
    f = tmp_path / "m.yaml"
    f.write_text("\n---\n".join(json.dumps(d) for d in docs))
    objs, problems = read_manifests([f])
    result = translate_objects(objs, OPTS)
    assert _served(result, "/baseline")
    if kind is None:
        # no kind at all: kept, and ignored by the translator like any unknown kind
        assert len(objs) == 3 and problems == []
        assert cli_main(["-f", str(f), "-o", "json", "--no-fail"]) == 0
        return
    # a kind of the wrong type is a problem naming its document; the others still translate
    assert len(objs) == 2
    assert [p.document for p in problems] == [1]
    with pytest.raises(ManifestError, match="document 1"):
        load_manifests([f])
    # the CLI says so and exits 1 (an unreadable manifest is never silently dropped)
    assert cli_main(["-f", str(f), "-o", "json", "--no-fail"]) == 1


def test_list_manifest_with_bad_items(tmp_path: Path) -> None:
    f = tmp_path / "m.yaml"
    f.write_text(
        json.dumps({"kind": "List", "items": 5})
        + "\n---\n"
        + json.dumps({"kind": "XList", "items": [1, None]})
    )
    objs, problems = read_manifests([f])
    assert objs == []
    assert len(problems) == 2


def test_parse_never_raises_on_deep_values() -> None:
    deep: Any = "x"
    for _ in range(100_000):
        deep = [deep]
    for kind in ("KongPlugin", "Ingress", "Secret", "Service"):
        model = parse(
            kind,
            {
                "kind": kind,
                "metadata": {"name": "n", "namespace": NS},
                "config": {"a": deep},
                "spec": deep,
            },
        )
        assert model.ref.name == "n"


@pytest.mark.parametrize(
    "annotation",
    ["konghq.com/tags", "konghq.com/headers.x-a", "konghq.com/methods", "konghq.com/plugins"],
)
def test_string_that_cannot_be_serialised_fails_only_its_route(annotation: str) -> None:
    # a lone surrogate (YAML or JSON "\udcff" escapes) cannot be encoded as UTF-8
    objs = [*_baseline(), _ingress("evil", "/evil\udcff", {annotation: "x\udcff"})]
    result = translate_objects(objs, OPTS)
    assert _served(result, "/baseline")
    assert any("TypeError" in r for r in _failed(result, "Ingress", "evil"))
    assert not _failed(result, "Ingress", "baseline")


@pytest.mark.parametrize("kind", ["KongConsumer", "KongConsumerGroup", "KongClusterPlugin"])
def test_unserialisable_tags_fail_only_their_object(kind: str) -> None:
    obj: dict[str, Any] = {
        "apiVersion": "configuration.konghq.com/v1",
        "kind": kind,
        "metadata": {
            "name": "evil",
            "annotations": {"kubernetes.io/ingress.class": "kong", "konghq.com/tags": "\udcff"},
            **(
                {"namespace": NS} if kind != "KongClusterPlugin" else {"labels": {"global": "true"}}
            ),
        },
        "username": "evil",
        "plugin": "cors",
    }
    ca = _secret("ca", {"id": b"ca-1", "cert": _ca_pem()}, {"konghq.com/ca-cert": "true"})
    result = translate_objects([*_baseline(), ca, obj], OPTS)
    assert _served(result, "/baseline")
    assert _failed(result, kind, "evil")
    assert [c["id"] for c in result.config.get("ca_certificates", [])] == ["ca-1"]


def test_manifest_alias_bomb_in_inline_config_is_not_walked(tmp_path: Path) -> None:
    levels = [
        f"  {chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]"
        for i in range(9)
    ]
    plugin = "\n".join(
        [
            "apiVersion: configuration.konghq.com/v1",
            "kind: KongPlugin",
            f"metadata: {{name: p, namespace: {NS}}}",
            "plugin: request-transformer",
            "config:",
            '  a: &a ["x","x","x","x","x","x","x","x","x"]',
            *levels,
        ]
    )
    f = tmp_path / "bomb.yaml"
    others = [*_baseline(), _ingress("protected", "/protected", {"konghq.com/plugins": "p"})]
    f.write_text(plugin + "\n---\n" + "\n---\n".join(json.dumps(d) for d in others))
    result = translate_objects(load_manifests([f]), OPTS)
    assert _served(result, "/baseline")
    assert any("values" in r or "too big" in r for r in _failed(result, "KongPlugin", "p"))
    assert not any(p["name"] == "request-transformer" for p in result.config.get("plugins", []))


# --- unit guards: a model that could not be parsed, in place of the kind the unit expects ---
#
# ``parse`` turns a parser crash into an ``UnknownObject``; that object then sits in the store
# under the kind it claimed. Every unit that reads it must fail on its own, and recover
# incrementally once the object is fixed.


def _world() -> list[dict[str, Any]]:
    consumer = {
        "apiVersion": "configuration.konghq.com/v1",
        "kind": "KongConsumer",
        "metadata": _meta(
            "alice",
            annotations={"kubernetes.io/ingress.class": "kong", "konghq.com/plugins": "p"},
        ),
        "username": "alice",
        "credentials": ["alice-key"],
    }
    group = {
        "apiVersion": "configuration.konghq.com/v1beta1",
        "kind": "KongConsumerGroup",
        "metadata": _meta("gold", annotations={"kubernetes.io/ingress.class": "kong"}),
    }
    kcp = {
        "apiVersion": "configuration.konghq.com/v1",
        "kind": "KongClusterPlugin",
        "metadata": {
            "name": "glob",
            "uid": "uid-glob",
            "labels": {"global": "true"},
            "annotations": {"kubernetes.io/ingress.class": "kong"},
        },
        "plugin": "cors",
    }
    other_svc = _service()
    other_svc["metadata"] = _meta("other")
    return [
        *_baseline(),
        _ingress("protected", "/protected", {"konghq.com/plugins": "p"}),
        other_svc,
        _plugin("p", config={"add": {"headers": ["x:1"]}}),
        consumer,
        group,
        kcp,
        _secret("alice-key", {"key": b"k"}, {"konghq.com/credential": "key-auth"}),
        _secret("ca", {"id": b"ca-1", "cert": _ca_pem()}, {"konghq.com/ca-cert": "true"}),
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": _meta("svc-1", labels={"kubernetes.io/service-name": "svc"}),
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": True}}],
            "ports": [{"port": 8080, "protocol": "TCP"}],
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {"name": "kong", "uid": "uid-ic"},
            "spec": {"controller": "ingress-controllers.konghq.com/kong"},
        },
    ]


def _store(objs: list[dict[str, Any]]) -> Any:
    from kic_trio._deltas import Upsert
    from kic_trio.store import Store

    store = Store()
    for raw in objs:
        store.apply(Upsert(raw["kind"], parse(raw["kind"], raw)))
    return store


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("Service", "svc"),
        ("EndpointSlice", "svc-1"),
        ("Secret", "alice-key"),
        ("Secret", "ca"),
        ("KongPlugin", "p"),
        ("KongClusterPlugin", "glob"),
        ("KongConsumer", "alice"),
        ("KongConsumerGroup", "gold"),
        ("Ingress", "protected"),
        ("IngressClass", "kong"),
    ],
)
def test_unit_guard_on_an_unparsed_model(kind: str, name: str) -> None:
    from kic_trio._deltas import Upsert
    from kic_trio.translator import Translator

    objs = _world()
    store = _store(objs)
    incremental = Translator(OPTS)
    healthy = incremental.translate(store.snapshot())
    store.take_changes()
    raw = next(o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name)
    broken = parse("NotAKind", raw)  # an UnknownObject with the same identity
    store.apply(Upsert(kind, broken))
    snap = store.snapshot()
    got = incremental.translate(snap, store.take_changes())
    want = Translator(OPTS).translate(snap)
    assert (got.body, got.failures, got.configured) == (want.body, want.failures, want.configured)
    if kind not in ("Service", "EndpointSlice", "Ingress"):
        assert _served(got, "/baseline")
    # fixed again: back to the healthy output, incrementally
    store.apply(Upsert(kind, parse(kind, raw)))
    fixed = incremental.translate(store.snapshot(), store.take_changes())
    assert fixed.body == healthy.body
    assert fixed.failures == healthy.failures


def test_certificate_that_cannot_be_serialised_fails_alone() -> None:
    from strategies import PAIRS

    def tls(name: str, pair: tuple[str, str], tags: str) -> dict[str, Any]:
        s = _secret(name, {"tls.crt": pair[0].encode(), "tls.key": pair[1].encode()})
        s["metadata"]["annotations"] = {"konghq.com/tags": tags}
        return s

    def tls_ingress(name: str, host: str, secret: str) -> dict[str, Any]:
        ing = _ingress(name, "/" + name)
        ing["spec"]["rules"][0]["host"] = host
        ing["spec"]["tls"] = [{"hosts": [host], "secretName": secret}]
        return ing

    objs = [
        *_baseline(),
        tls("good", PAIRS[0], "ok"),
        tls("evil", PAIRS[1], "\udcff"),
        tls_ingress("a", "a.example.com", "good"),
        tls_ingress("b", "b.example.com", "evil"),
    ]
    result = translate_objects(objs, OPTS)
    assert _served(result, "/baseline")
    assert [c["id"] for c in result.config["certificates"]] == ["uid-good"]
    assert _failed(result, "Secret", "evil")
    assert not _failed(result, "Secret", "good")


@pytest.mark.parametrize("on_service", [False, True])
def test_route_comes_back_once_its_plugin_is_fixed(on_service: bool) -> None:
    from kic_trio._deltas import Upsert
    from kic_trio.translator import Translator

    ref = {"secretKeyRef": {"name": "conf", "key": "config"}}
    protected = _ingress(
        "protected", "/protected", {} if on_service else {"konghq.com/plugins": "p"}
    )
    svc = _service({"konghq.com/plugins": "p"} if on_service else {})
    objs = [
        _ingress("baseline", "/baseline"),
        svc,
        protected,
        _plugin("p", configFrom=ref),
        _secret("conf", {"config": b'{"add": {"x": NaN}}'}),
    ]
    store = _store(objs)
    incremental = Translator(OPTS)
    broken = incremental.translate(store.snapshot())
    store.take_changes()
    assert not _served(broken, "/protected")
    assert _failed(broken, "KongPlugin", "p")
    if on_service:
        assert not _served(broken, "/baseline")  # the service's own plugin protects both
        assert _failed(broken, "Service", "svc")
    fixed_secret = _secret("conf", {"config": b'{"add": {"headers": ["x:1"]}}'})
    store.apply(Upsert("Secret", parse("Secret", fixed_secret)))
    fixed = incremental.translate(store.snapshot(), store.take_changes())
    assert _served(fixed, "/protected", "/baseline")
    assert any(p["name"] == "request-transformer" for p in fixed.config["plugins"])
    assert not fixed.failures
    full = Translator(OPTS).translate(store.snapshot())
    assert (fixed.body, fixed.failures) == (full.body, full.failures)
