"""Issue 13 (2a, 4b, 5): hostile annotation values end as failures, in bounded time.

Each test feeds what a tenant with rights in one namespace can write and checks that the
value is refused on its object (a Failure), that Kong never sees it, and that the rest of the
configuration still goes out. The ReDoS cases assert no time: before the fix they did not
finish at all (34 characters ran until killed), so completing is the evidence.
"""

from __future__ import annotations

from typing import Any

import pytest

from kic_trio.models import parse
from kic_trio.translator import TranslatorOptions, translate_objects
from kic_trio.translator._util import go_int, valid_host, valid_sni

NS = "n"


def _ingress(name: str = "i", annotations: dict[str, str] | None = None, **extra: Any) -> Any:
    path = extra.pop("path", "/")
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": name,
            "namespace": NS,
            "uid": f"{name}-uid",
            "creationTimestamp": extra.pop("created", "2025-01-01T00:00:00Z"),
            "annotations": annotations or {},
        },
        "spec": {
            "ingressClassName": "kong",
            "rules": [
                {
                    "host": extra.pop("host", "example.com"),
                    "http": {
                        "paths": [
                            {
                                "path": path,
                                "pathType": "ImplementationSpecific",
                                "backend": {
                                    "service": {
                                        "name": extra.pop("service", "s"),
                                        "port": {"number": 80},
                                    }
                                },
                            }
                        ]
                    },
                }
            ],
        },
    }


def _service(name: str = "s", annotations: dict[str, str] | None = None) -> Any:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": NS,
            "uid": f"{name}-uid",
            "annotations": annotations or {},
        },
        "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
    }


def _baseline() -> list[Any]:
    """An unrelated Ingress in the same namespace: it must always still be served."""
    return [_ingress("base", host="base.example.com", service="b"), _service("b")]


def _translate(*objs: Any) -> tuple[dict[str, Any], list[str]]:
    result = translate_objects([*objs, *_baseline()], TranslatorOptions())
    config = result.config
    routes = [r["name"] for s in config.get("services", []) for r in s.get("routes", [])]
    assert "n.base.b.base.example.com.80" in routes, "the baseline Ingress must still be served"
    return config, [str(f) for f in result.failures]


def _routes(config: dict[str, Any], ingress: str = "i") -> list[dict[str, Any]]:
    return [
        r
        for s in config.get("services", [])
        for r in s.get("routes", [])
        if r["name"].startswith(f"{NS}.{ingress}.")
    ]


# --- 1. no backtracking regex -----------------------------------------------------------

REDOS = [
    "a" * 34 + "!",
    "a" * 100_000,
    "a-" * 50_000 + "!",
    ("a" * 60 + ".") * 2_000 + "!",
    "a" * 100_000 + "!",
]


@pytest.mark.parametrize("value", REDOS, ids=lambda v: f"{len(v)}-chars")
def test_snis_redos_ends_in_a_failure(value: str) -> None:
    config, failures = _translate(_ingress(annotations={"konghq.com/snis": value}), _service())
    (route,) = _routes(config)
    assert "snis" not in route
    assert any("konghq.com/snis" in f and "invalid SNI" in f for f in failures)


@pytest.mark.parametrize("value", REDOS, ids=lambda v: f"{len(v)}-chars")
def test_host_aliases_redos_ends_in_a_failure(value: str) -> None:
    config, failures = _translate(
        _ingress(annotations={"konghq.com/host-aliases": value}), _service()
    )
    (route,) = _routes(config)
    assert route["hosts"] == ["example.com"]
    assert any("konghq.com/host-aliases" in f for f in failures)


@pytest.mark.parametrize(
    "name",
    ["example.com", "a", "a-b.c-d", "A1.b2", "x" * 63 + ".com", ".".join(["a" * 62] * 4)],
)
def test_sni_accepts_what_upstream_accepts(name: str) -> None:
    assert len(name) <= 253
    assert valid_sni(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "-a",
        "a-",
        "a--b",
        "a..b",
        ".a",
        "a.",
        "a_b",
        "ä.com",
        "x" * 64 + ".com",
        ".".join(["a" * 63] * 4) + ".b",  # 258 > 253
        "*.example.com",
    ],
)
def test_sni_refuses(name: str) -> None:
    assert not valid_sni(name)


@pytest.mark.parametrize("name", ["*.example.com", "example.*", "*.a.*", "a.b"])
def test_host_alias_wildcards(name: str) -> None:
    assert valid_host(name)


@pytest.mark.parametrize("name", ["*", "*.", "a.*.b", "**.a", "*.*", "bad host", "a..b"])
def test_host_alias_refuses(name: str) -> None:
    assert not valid_host(name)


def test_go_int_on_a_huge_digit_string_is_refused_not_raised() -> None:
    # int() raises beyond 4300 digits; Go's Atoi refuses beyond int64
    assert go_int("9" * 100_000) is None
    assert go_int("9223372036854775807") == 2**63 - 1
    assert go_int("-9223372036854775808") == -(2**63)
    assert go_int("9223372036854775808") is None
    assert go_int("") is None and go_int("+") is None and go_int("١٢") is None


def test_huge_regex_priority_is_a_failure() -> None:
    config, failures = _translate(
        _ingress(annotations={"konghq.com/regex-priority": "9" * 100_000}), _service()
    )
    (route,) = _routes(config)
    assert route["regex_priority"] == 0
    assert any("konghq.com/regex-priority" in f for f in failures)


# --- 4. values Kong rejects -------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("konghq.com/connect-timeout", "2147483647"),
        ("konghq.com/read-timeout", "-1"),
        ("konghq.com/write-timeout", "0"),
        ("konghq.com/write-timeout", "99999999999999999999999"),
        ("konghq.com/retries", "-1"),
        ("konghq.com/retries", "32768"),
        ("konghq.com/tls-verify-depth", "65"),
        ("konghq.com/connect-timeout", "NaN"),
        ("konghq.com/retries", "Infinity"),
    ],
)
def test_out_of_range_service_integers_are_refused(key: str, value: str) -> None:
    config, failures = _translate(_ingress(), _service(annotations={key: value}))
    (svc,) = [s for s in config["services"] if s["name"] == "n.s.80"]
    field = key.removeprefix("konghq.com/").replace("-", "_")
    assert svc.get(field) == {"tls_verify_depth": None, "retries": 5}.get(field, 60000)
    assert any(f"metadata.annotations.{key}" in f for f in failures)


def test_in_range_service_integers_pass() -> None:
    config, failures = _translate(
        _ingress(),
        _service(
            annotations={
                "konghq.com/connect-timeout": "2147483646",
                "konghq.com/retries": "0",
                "konghq.com/read-timeout": "1",
            }
        ),
    )
    (svc,) = [s for s in config["services"] if s["name"] == "n.s.80"]
    assert (svc["connect_timeout"], svc["retries"], svc["read_timeout"]) == (2147483646, 0, 1)
    assert failures == []


@pytest.mark.parametrize(
    ("header", "value", "reason"),
    [
        ("X-A", "one\r\nX-Injected: yes", "control character"),
        ("X-A", "nul\x00byte", "control character"),
        ("X-A", "lf\nonly", "control character"),
        ("Host", "evil.example.com", "'host' header"),
        ("host", "evil.example.com", "'host' header"),
        ("X A", "q-value-9", "header name"),
        ("X:A", "q-value-9", "header name"),
    ],
)
def test_bad_route_headers_leave_the_ingress_out(header: str, value: str, reason: str) -> None:
    ing = _ingress(annotations={f"konghq.com/headers.{header}": value})
    config, failures = _translate(ing, _service())
    # a header match narrows the route: serving it without the match would widen it
    assert _routes(config) == []
    assert any(f"konghq.com/headers.{header}" in f and reason in f for f in failures)
    assert all(value not in f for f in failures)


def test_good_route_headers_and_tab_pass() -> None:
    ing = _ingress(annotations={"konghq.com/headers.X-Env": "a,\tb", "konghq.com/headers.x_y": "z"})
    config, failures = _translate(ing, _service())
    (route,) = _routes(config)
    assert route["headers"] == {"X-Env": ["a", "b"], "x_y": ["z"]}
    assert failures == []


def test_empty_headers_separator_is_a_failure() -> None:
    ing = _ingress(
        annotations={"konghq.com/headers.X-A": "a,b", "konghq.com/headers-separator": ""}
    )
    config, failures = _translate(ing, _service())
    assert _routes(config) == []
    assert any("konghq.com/headers-separator" in f for f in failures)


@pytest.mark.parametrize("path", ["/a\x00b", "/a\r\nb", "/\x7f", "/x\x1b[0m"])
def test_control_characters_in_paths_are_left_out(path: str) -> None:
    ing = _ingress(path=path)
    ing["spec"]["rules"][0]["http"]["paths"].append(
        {
            "path": "/fine",
            "pathType": "ImplementationSpecific",
            "backend": {"service": {"name": "s", "port": {"number": 80}}},
        }
    )
    config, failures = _translate(ing, _service())
    (route,) = _routes(config)
    assert route["paths"] == ["/fine"]
    assert any("spec.rules[0].http.paths[0].path" in f for f in failures)


def test_control_characters_in_service_path_are_refused() -> None:
    config, failures = _translate(_ingress(), _service(annotations={"konghq.com/path": "/a\x00"}))
    (svc,) = [s for s in config["services"] if s["name"] == "n.s.80"]
    assert svc["path"] == "/"
    assert any("konghq.com/path" in f for f in failures)


@pytest.mark.parametrize("value", ["zzv1zz", "v1 ", "v2", "v10", "xv0"])
def test_path_handling_is_matched_whole(value: str) -> None:
    config, failures = _translate(
        _ingress(annotations={"konghq.com/path-handling": value}), _service()
    )
    (route,) = _routes(config)
    assert route["path_handling"] == "v0"
    assert any("konghq.com/path-handling" in f for f in failures)


def test_path_handling_v1_passes() -> None:
    config, _ = _translate(_ingress(annotations={"konghq.com/path-handling": "v1"}), _service())
    (route,) = _routes(config)
    assert route["path_handling"] == "v1"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinity_in_upstream_policy_are_refused(value: float) -> None:
    policy = parse(
        "KongUpstreamPolicy",
        {
            "kind": "KongUpstreamPolicy",
            "metadata": {"name": "p", "namespace": NS},
            "spec": {"healthchecks": {"active": {"timeout": value, "concurrency": 3}}},
        },
    )
    assert policy.upstream["healthchecks"] == {"active": {"concurrency": 3}}
    assert any(f.field == "spec.healthchecks.active.timeout" for f in policy.failures)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1e300, 2**70, -1, 65536])
def test_out_of_range_ports_are_refused(value: float) -> None:
    svc = parse(
        "Service",
        {
            "kind": "Service",
            "metadata": {"name": "s", "namespace": NS},
            "spec": {"ports": [{"port": value}, {"port": 81, "targetPort": 2**40}]},
        },
    )
    assert [(p.port, p.target_port) for p in svc.ports] == [(81, None)]
    assert {f.field for f in svc.failures} >= {"spec.ports[0].port", "spec.ports[1].targetPort"}


@pytest.mark.parametrize(
    "host",
    ["bad host", "a..b", "-a.com", "UPPER.com", "a" * 64 + ".com", "*", "x.*", "a\x00.com"],
)
def test_invalid_rule_hosts_leave_the_rule_out(host: str) -> None:
    config, failures = _translate(_ingress(host=host), _service())
    assert _routes(config) == []
    assert any("spec.rules[0].host" in f for f in failures)


@pytest.mark.parametrize("host", ["xn--bcher-kva.example", "*.example.com", "a-b.c"])
def test_valid_rule_hosts_pass(host: str) -> None:
    config, failures = _translate(_ingress(host=host), _service())
    (route,) = _routes(config)
    assert route["hosts"] == [host]
    assert failures == []


@pytest.mark.parametrize(
    "value", ["evil\r\nX: y", "a b", "a:99999", "a:", "-a-", "a..b", "x" * 300]
)
def test_bad_host_header_is_refused(value: str) -> None:
    config, failures = _translate(
        _ingress(), _service(annotations={"konghq.com/host-header": value})
    )
    (up,) = [u for u in config["upstreams"] if u["name"] == "s.n.80.svc"]
    assert "host_header" not in up
    assert any("konghq.com/host-header" in f for f in failures)


@pytest.mark.parametrize("value", ["api.internal", "api.internal:8443", "my_host.local.", "a"])
def test_good_host_header_passes(value: str) -> None:
    config, failures = _translate(
        _ingress(), _service(annotations={"konghq.com/host-header": value})
    )
    (up,) = [u for u in config["upstreams"] if u["name"] == "s.n.80.svc"]
    assert up["host_header"] == value
    assert failures == []


def test_client_cert_without_a_valid_pair_is_not_referenced() -> None:
    # Kong refuses a client_certificate that names no certificate (the whole configuration)
    import base64
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "client")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    wrong_key = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    secret = {
        "kind": "Secret",
        "metadata": {"name": "client", "namespace": NS, "uid": "client-uid"},
        "data": {
            "tls.crt": base64.b64encode(cert.public_bytes(serialization.Encoding.PEM)).decode(),
            "tls.key": base64.b64encode(wrong_key).decode(),
        },
    }
    svc = _service(annotations={"konghq.com/client-cert": "client", "konghq.com/protocol": "https"})
    config, failures = _translate(_ingress(), svc, secret)
    (kong_svc,) = [s for s in config["services"] if s["name"] == "n.s.80"]
    assert "client_certificate" not in kong_svc
    assert "certificates" not in config
    assert any("konghq.com/client-cert" in f and "no valid TLS key pair" in f for f in failures)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("konghq.com/strip-path", "x" * 100_000),
        ("konghq.com/preserve-host", "no\r\nX-Injected: yes"),
        ("konghq.com/regex-priority", "1" * 5000),
        ("konghq.com/path-handling", "v1\n" * 20),
    ],
)
def test_failure_reasons_never_echo_long_or_control_values(key: str, value: str) -> None:
    _, failures = _translate(_ingress(annotations={key: value}), _service())
    (failure,) = [f for f in failures if key in f]
    assert "the value" in failure and value not in failure and "\n" not in failure
    assert len(failure) < 200


@pytest.mark.parametrize(("protocols", "kept"), [("http", False), ("grpc", False), ("https", True)])
def test_snis_need_a_tls_protocol(protocols: str, kept: bool) -> None:
    ann = {"konghq.com/snis": "example.com", "konghq.com/protocols": protocols}
    config, failures = _translate(_ingress(annotations=ann), _service())
    (route,) = _routes(config)
    assert ("snis" in route) is kept
    assert any("SNIs need a TLS protocol" in f for f in failures) is not kept


def test_client_cert_merged_with_an_identical_older_secret_still_resolves() -> None:
    """Identical cert+key Secrets merge under the oldest UID; a client_certificate naming the
    younger one must still name an existing certificate (else Kong refuses everything)."""
    import base64
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tls.example.com")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    data = {
        "tls.crt": base64.b64encode(cert.public_bytes(serialization.Encoding.PEM)).decode(),
        "tls.key": base64.b64encode(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ).decode(),
    }

    def secret(name: str, created: str) -> dict[str, Any]:
        meta = {"name": name, "namespace": NS, "uid": f"{name}-uid", "creationTimestamp": created}
        return {"kind": "Secret", "metadata": meta, "data": data}

    ing = _ingress()
    ing["spec"]["tls"] = [{"hosts": ["example.com"], "secretName": "older"}]
    svc = _service(
        annotations={"konghq.com/client-cert": "younger", "konghq.com/protocol": "https"}
    )
    config, failures = _translate(
        ing, svc, secret("older", "2025-01-01T00:00:00Z"), secret("younger", "2025-06-01T00:00:00Z")
    )
    (kong_svc,) = [s for s in config["services"] if s["name"] == "n.s.80"]
    ids = {c["id"] for c in config["certificates"]}
    assert kong_svc["client_certificate"] in ids
    assert ids == {"older-uid", "younger-uid"}
    assert failures == []


def test_deep_yaml_flow_nesting_is_refused_by_the_scanner_before_it_goes_deep() -> None:
    """3000 nested ``[`` once cost 2 s of the Trio thread (PyYAML's scanner is quadratic in
    the flow depth) and held up every other change; the scanner now stops at the limit."""
    from kic_trio.translator._plugins import MAX_DEPTH, PluginConfigError, _NoAliasLoader

    levels: list[int] = []

    class Counting(_NoAliasLoader):
        def fetch_flow_collection_start(self, TokenClass: Any) -> None:
            levels.append(self.flow_level)
            super().fetch_flow_collection_start(TokenClass)

    import yaml

    with pytest.raises(PluginConfigError, match="nested deeper"):
        yaml.load("n: " + "[" * 3000 + "]" * 3000 + "\n", Loader=Counting)
    assert max(levels) == MAX_DEPTH
    # within the limit, flow collections still load
    assert yaml.load("n: [[1, {a: [2]}]]", Loader=_NoAliasLoader) == {"n": [[1, {"a": [2]}]]}
