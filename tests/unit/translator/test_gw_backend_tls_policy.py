"""BackendTLSPolicy (translator/_backendtls.py): the target Service's annotations as its Kong
service sees them, and the policy's Accepted condition (gateway-api.md §8, last bullets)."""

from __future__ import annotations

from typing import Any

from kic_trio._deltas import Upsert
from kic_trio.models import ObjectRef, parse
from kic_trio.models._gateway_api import BackendTLSPolicy, PolicyTargetRef, SecretObjectRef
from kic_trio.store import Store
from kic_trio.translator._backendtls import (
    CONFLICTED,
    MULTIPLE,
    policy_conditions,
    policy_status,
    service_with_backend_tls,
)
from kic_trio.translator._ingress import RouteOut
from kic_trio.translator._model import Backend
from kic_trio.translator._services import translate_service

GW = "gateway.networking.k8s.io"
SVC = {
    "metadata": {"name": "web", "namespace": "ns", "uid": "u-web"},
    "spec": {"ports": [{"port": 443, "name": "https"}]},
}
CA = {
    "metadata": {
        "name": "ca",
        "namespace": "ns",
        "uid": "u-ca",
        "labels": {"konghq.com/ca-cert": "true"},
    },
    "data": {"id": "MTIz", "cert": ""},
}


def _policy(name: str = "p", **kw: Any) -> BackendTLSPolicy:
    return BackendTLSPolicy(
        ref=ObjectRef("BackendTLSPolicy", "ns", name, "", GW, "v1"),
        target_refs=(PolicyTargetRef("", "Service", "web"),),
        hostname="web.example",
        **kw,
    )


def _snap(*policies: BackendTLSPolicy) -> Any:
    store = Store()
    store.apply(Upsert("Service", parse("Service", SVC)))
    store.apply(Upsert("Secret", parse("Secret", CA)))
    snap = store.snapshot()
    return snap.with_objects([("BackendTLSPolicy", p) for p in policies])


def test_policy_rewrites_a_copy_of_the_service_annotations() -> None:
    policy = _policy(
        ca_certificate_refs=(SecretObjectRef("ca", group="", kind="Secret"),),
        options=(("tls-verify-depth", "2"),),
    )
    snap = _snap(policy)
    svc = snap.get("Service", "ns", "web")
    deps: set[tuple[str, str, str]] = set()
    out = service_with_backend_tls(svc, snap, deps)
    assert out.failures == () and out.applied == policy.ref
    ann = out.service.annotations
    assert ann["konghq.com/tls-verify"] == "true"
    assert ann["konghq.com/protocol"] == "https"
    assert ann["konghq.com/host-header"] == "web.example"
    assert ann["konghq.com/ca-certificates-secrets"] == "ca"
    assert ann["konghq.com/tls-verify-depth"] == "2"
    assert "konghq.com/tls-verify" not in svc.annotations  # the stored Service is untouched
    assert ("BackendTLSPolicy", "ns", "") in deps and ("Secret", "ns", "ca") in deps
    # the ordinary service translation then makes the Kong service verify TLS
    kong = translate_service(
        "s",
        [Backend("ns", "web", ("number", 443))],
        [RouteOut("r", "s", Backend("ns", "web", ("number", 443)), {"name": "r"}, policy.ref)],
        snap.with_objects([("Service", out.service)]),
        service_upstream=False,
        cluster_domain="",
        drain=False,
        fill_ids=False,
    )
    assert kong.service is not None
    assert kong.service["protocol"] == "https" and kong.service["tls_verify"] is True
    assert kong.service["tls_verify_depth"] == 2
    assert kong.upstream["host_header"] == "web.example"
    assert policy_conditions(policy, snap, set()) == (policy_conditions(policy, snap, set())[0],)
    assert policy_conditions(policy, snap, set())[0].status == "True"


def test_two_policies_on_one_service_conflict_and_neither_applies() -> None:
    a, b = _policy("a"), _policy("b")
    snap = _snap(a, b)
    svc = snap.get("Service", "ns", "web")
    out = service_with_backend_tls(svc, snap, set())
    assert out.applied is None and out.failures[0].reason == MULTIPLE
    cond = policy_conditions(a, snap, set())[0]
    assert (cond.status, cond.reason, cond.message) == ("False", "Conflicted", CONFLICTED)


def test_unsupported_validation_is_invalid_with_joined_messages() -> None:
    policy = _policy(subject_alt_names=1, well_known_ca_certificates="System")
    snap = _snap(policy)
    out = service_with_backend_tls(snap.get("Service", "ns", "web"), snap, set())
    assert out.applied is None and out.failures[0].obj == policy.ref
    cond = policy_conditions(policy, snap, set())[0]
    assert cond.reason == "Invalid"
    assert cond.message == (
        "SubjectAltNames feature is not currently supported - "
        "WellKnownCACertificates feature is not currently supported"
    )


def test_missing_ca_or_other_kind_is_invalid_and_status_needs_an_ancestor() -> None:
    policy = _policy(
        ca_certificate_refs=(
            SecretObjectRef("nope", kind="Secret"),
            SecretObjectRef("x", group="example.com", kind="Thing"),
        )
    )
    snap = _snap(policy)
    cond = policy_conditions(policy, snap, set())[0]
    assert cond.reason == "Invalid" and " - " in cond.message
    assert policy_status(policy, snap, (), set()) == {}
    gw = ObjectRef("Gateway", "ns", "kong", "", GW, "v1")
    status = policy_status(policy, snap, (gw,), set())
    assert status[policy.ref].parent == gw
    (ancestor,) = status[policy.ref].parents
    assert ancestor.gateway == gw
    assert ancestor.controller_name == "konghq.com/kic-gateway-controller"


def _manifests(*policies: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": f"{GW}/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": "r", "namespace": "ns"},
            "spec": {
                "parentRefs": [{"name": "kong"}],
                "rules": [{"backendRefs": [{"kind": "Service", "name": "web", "port": 443}]}],
            },
        },
        {"apiVersion": "v1", "kind": "Service", **SVC},
        *policies,
    ]


def _policy_manifest(name: str, **validation: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GW}/v1",
        "kind": "BackendTLSPolicy",
        "metadata": {"name": name, "namespace": "ns"},
        "spec": {
            "targetRefs": [{"group": "", "kind": "Service", "name": "web"}],
            "validation": {"hostname": "web.example", **validation},
        },
    }


def test_httproute_backend_gets_tls_from_its_policy_and_the_policy_its_status() -> None:
    """Through the whole translator: the HTTPRoute's Kong service verifies TLS to the backend
    as the policy asks, and the policy is Accepted with the route's Gateway as ancestor."""
    from kic_trio.translator import TranslatorOptions, translate_objects

    opts = TranslatorOptions(gateway_attachment=False)
    policy = _policy_manifest("p", wellKnownCACertificates="System")
    result = translate_objects(_manifests(policy), opts)
    (svc,) = result.config["services"]
    # wellKnownCACertificates is not supported (as upstream): Invalid, not applied
    assert svc["protocol"] == "http" and "tls_verify" not in svc
    (status,) = [st for ref, st in result.status.items() if ref.kind == "BackendTLSPolicy"]
    assert status.conditions[0].reason == "Invalid"
    assert status.parent is not None and status.parent.name == "kong"
    policy = _policy_manifest("p")
    result = translate_objects(_manifests(policy), opts)
    (svc,) = result.config["services"]
    assert svc["protocol"] == "https" and svc["tls_verify"] is True
    (upstream,) = result.config["upstreams"]
    assert upstream["host_header"] == "web.example"
    (status,) = [st for ref, st in result.status.items() if ref.kind == "BackendTLSPolicy"]
    assert [(c.type, c.status, c.reason) for c in status.conditions] == [
        ("Accepted", "True", "Accepted")
    ]
    # a second policy on the same Service: both Conflicted, neither applied
    result = translate_objects(_manifests(policy, _policy_manifest("q")), opts)
    (svc,) = result.config["services"]
    assert svc["protocol"] == "http"
    reasons = {
        ref.name: st.conditions[0].reason
        for ref, st in result.status.items()
        if ref.kind == "BackendTLSPolicy"
    }
    assert reasons == {"p": "Conflicted", "q": "Conflicted"}
    assert any(f.reason == MULTIPLE for f in result.failures)
