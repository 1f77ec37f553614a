"""TCPIngress / UDPIngress translation (upstream-surface.md §5): what the golden cases under
tests/conformance/cases/tcp-udp-ingress-* do not show — incremental changes, class filtering,
arbitration between objects, the takeover of an Ingress's Kong service and its undoing."""

from __future__ import annotations

from typing import Any

from kic_trio._deltas import Delete, Upsert
from kic_trio.models import parse
from kic_trio.store import Store
from kic_trio.translator import Translator, TranslatorOptions, translate_objects


def _stream(
    kind: str,
    name: str,
    rules: list[dict[str, Any]],
    *,
    cls: str | None = "kong",
    created: str = "2025-01-01T00:00:00Z",
) -> dict[str, Any]:
    ann = {"kubernetes.io/ingress.class": cls} if cls else {}
    return {
        "apiVersion": "configuration.konghq.com/v1beta1",
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": "n",
            "uid": f"uid-{kind}-{name}",
            "creationTimestamp": created,
            "annotations": ann,
        },
        "spec": {"rules": rules},
    }


def _rule(port: int, host: str = "", svc: str = "svc", svc_port: int = 80) -> dict[str, Any]:
    r: dict[str, Any] = {"port": port, "backend": {"serviceName": svc, "servicePort": svc_port}}
    if host:
        r["host"] = host
    return r


SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "svc", "namespace": "n", "uid": "uid-svc"},
    "spec": {"ports": [{"port": 80, "targetPort": 8080}]},
}
INGRESS = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "Ingress",
    "metadata": {"name": "web", "namespace": "n", "uid": "uid-web"},
    "spec": {
        "ingressClassName": "kong",
        "rules": [
            {
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": "svc", "port": {"number": 80}}},
                        }
                    ]
                }
            }
        ],
    },
}
DEFAULT_CLASS = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "IngressClass",
    "metadata": {
        "name": "kong",
        "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"},
    },
    "spec": {"controller": "ingress-controllers.konghq.com/kong"},
}


def _routes(config: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        r["name"]: (s["name"], r) for s in config.get("services", []) for r in s.get("routes", [])
    }


def test_class_filtering_as_upstream() -> None:
    objs = [
        SERVICE,
        _stream("TCPIngress", "ours", [_rule(9000)]),
        _stream("TCPIngress", "theirs", [_rule(9001)], cls="other"),
        _stream("UDPIngress", "classless", [_rule(9002)], cls=None),
    ]
    assert set(_routes(translate_objects(objs).config)) == {"n.ours.0"}
    # class-less objects are ours only when our IngressClass is the default one
    with_default = set(_routes(translate_objects([*objs, DEFAULT_CLASS]).config))
    assert with_default == {"n.ours.0", "n.classless.0.udp"}


def test_tcp_takes_over_the_ingress_service_and_gives_it_back() -> None:
    store = Store()
    for raw in (SERVICE, INGRESS):
        store.apply(Upsert(raw["kind"], parse(raw["kind"], raw)))
    tr = Translator(TranslatorOptions())
    before = tr.translate(store.snapshot())
    store.take_changes()
    ingress_routes = set(_routes(before.config))
    assert ingress_routes and not before.failures

    def step() -> Any:
        snap = store.snapshot()
        got = tr.translate(snap, store.take_changes())
        want = Translator(TranslatorOptions()).translate(snap)
        assert (got.body, got.failures, got.configured) == (
            want.body,
            want.failures,
            want.configured,
        )
        return got

    tcp = _stream("TCPIngress", "t", [_rule(9000, "t.example.com")])
    store.apply(Upsert("TCPIngress", parse("TCPIngress", tcp)))
    taken = step()
    assert _routes(taken.config) == {"n.t.0": ("n.svc.80", _routes(taken.config)["n.t.0"][1])}
    (svc,) = taken.config["services"]
    assert svc["protocol"] == "tcp" and "path" not in svc
    (failure,) = taken.failures
    assert failure.obj.name == "web" and "TCPIngress" in failure.reason
    assert {r.kind for r in taken.configured} >= {"TCPIngress", "Service"}
    assert all(r.kind != "Ingress" for r in taken.configured)

    store.apply(Delete("TCPIngress", "n", "t"))
    back = step()
    assert set(_routes(back.config)) == ingress_routes and not back.failures
    assert back.config["services"][0]["protocol"] == "http"


def test_only_the_changed_object_is_retranslated() -> None:
    store = Store()
    a = _stream("TCPIngress", "a", [_rule(9000)])
    b = _stream("UDPIngress", "b", [_rule(9001)])
    for raw in (SERVICE, a, b):
        store.apply(Upsert(raw["kind"], parse(raw["kind"], raw)))
    tr = Translator(TranslatorOptions())
    first = tr.translate(store.snapshot())
    store.take_changes()
    udp_before = _routes(first.config)["n.b.0.udp"][1]
    a2 = _stream("TCPIngress", "a", [_rule(9000), _rule(9100)])
    store.apply(Upsert("TCPIngress", parse("TCPIngress", a2)))
    second = tr.translate(store.snapshot(), store.take_changes())
    routes = _routes(second.config)
    assert routes["n.a.1"][1]["destinations"] == [{"port": 9100}]
    # the UDP route is the very object kept from the first translation (not recomputed)
    assert routes["n.b.0.udp"][1] == udp_before


def test_tls_sections_claim_certificates_after_ingresses() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "missing-cert", "namespace": "n"},
        "type": "kubernetes.io/tls",
        "data": {},
    }
    tcp = _stream("TCPIngress", "t", [_rule(9000, "t.example.com")])
    tcp["spec"]["tls"] = [{"hosts": ["t.example.com"], "secretName": "missing-cert"}]
    result = translate_objects([SERVICE, tcp, secret])
    # the Secret holds no key pair: the same failure an Ingress TLS claim gets, on the TCPIngress
    assert "certificates" not in result.config
    tcp_failures = [f for f in result.failures if f.obj.kind == "TCPIngress"]
    assert [f.reason for f in tcp_failures] == ["failed to construct certificate from secret"]
    assert "n.t.0" in _routes(result.config)


def test_rules_keep_their_index_in_route_names() -> None:
    """A rule left out (bad port) does not renumber the others: names stay stable."""
    tcp = _stream("TCPIngress", "t", [_rule(9000), _rule(0), _rule(9002, "x.example.com")])
    result = translate_objects([SERVICE, tcp])
    assert sorted(_routes(result.config)) == ["n.t.0", "n.t.2"]
    assert {f.field for f in result.failures} == {"spec.rules[1]", "spec.rules[1].port"}


def test_tcp_and_udp_to_one_service_port_share_one_upstream() -> None:
    """Both Kong services (``n.svc.80`` and ``n.svc.80.udp``) use host ``svc.n.80.svc``: one
    upstream, held by whichever exists, through every add and delete (incremental == full)."""
    store = Store()
    tcp = _stream("TCPIngress", "t", [_rule(9000)])
    udp = _stream("UDPIngress", "u", [_rule(9000)])
    for raw in (SERVICE, udp):
        store.apply(Upsert(raw["kind"], parse(raw["kind"], raw)))
    tr = Translator(TranslatorOptions())
    tr.translate(store.snapshot())
    store.take_changes()
    for delta, services in (
        (Upsert("TCPIngress", parse("TCPIngress", tcp)), {"n.svc.80", "n.svc.80.udp"}),
        (Delete("UDPIngress", "n", "u"), {"n.svc.80"}),
        (Upsert("UDPIngress", parse("UDPIngress", udp)), {"n.svc.80", "n.svc.80.udp"}),
        (Delete("TCPIngress", "n", "t"), {"n.svc.80.udp"}),
    ):
        store.apply(delta)
        snap = store.snapshot()
        got = tr.translate(snap, store.take_changes())
        want = Translator(TranslatorOptions()).translate(snap)
        assert got.body == want.body and got.failures == want.failures == ()
        assert {s["name"] for s in got.config["services"]} == services
        assert [u["name"] for u in got.config["upstreams"]] == ["svc.n.80.svc"]
