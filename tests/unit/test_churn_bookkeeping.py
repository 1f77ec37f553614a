"""Churn leaves nothing behind: a Store and a warm Translator after many create/update/delete cycles.

A controller runs for months; every object it ever saw must stop costing memory once deleted.
Each cycle here creates a whole app under a name never used before (Service, EndpointSlice,
TLS Secret, KongPlugin, Ingress, KongConsumer and its credential), changes it (a new host, a
moved endpoint, a broken certificate: a Failure), and deletes it again, translating
incrementally after every step as the controller does. Afterwards every index of the store
(``Store.bookkeeping``) and every cache of the translator (``Translator.bookkeeping``) has its
size from before, and the body is byte-identical to a full translation. The RSS curve of the
real process is ``benchmarks/churn.py``.
"""

from __future__ import annotations

import base64
import datetime
from functools import cache
from typing import Any

from kic_trio._deltas import Delete, Upsert
from kic_trio.models import parse
from kic_trio.store import Store
from kic_trio.translator import Translator

NS = "churn"


@cache
def _pair() -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "churn.example.com")])
    start = datetime.datetime(2025, 1, 1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return (
        cert.public_bytes(serialization.Encoding.PEM).decode(),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
    )


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _app(tag: str, rv: int, *, host: str, broken_cert: bool, address: str) -> list[dict[str, Any]]:
    """One app's objects, named after ``tag`` (never reused across cycles)."""

    def meta(name: str, **extra: Any) -> dict[str, Any]:
        return {
            "name": name,
            "namespace": NS,
            "uid": f"uid-{name}",
            "resourceVersion": str(rv),
            "creationTimestamp": "2025-01-01T00:00:00Z",
            **extra,
        }

    cert, key = _pair()
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/tls",
            "metadata": meta(f"tls-{tag}"),
            "data": {"tls.crt": _b64("garbage" if broken_cert else cert), "tls.key": _b64(key)},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta(f"svc-{tag}"),
            "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
        },
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": meta(f"svc-{tag}-x", labels={"kubernetes.io/service-name": f"svc-{tag}"}),
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
        },
        {
            "apiVersion": "configuration.konghq.com/v1",
            "kind": "KongPlugin",
            "metadata": meta(f"auth-{tag}"),
            "plugin": "key-auth",
            # a broken change also breaks the plugin (its config Secret does not exist): what
            # it guards is left out (fail closed)
            **(
                {"configFrom": {"secretKeyRef": {"name": f"missing-{tag}", "key": "config"}}}
                if broken_cert
                else {"config": {"key_names": ["apikey"]}}
            ),
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": meta(f"ing-{tag}", annotations={"konghq.com/plugins": f"auth-{tag}"}),
            "spec": {
                "ingressClassName": "kong",
                "tls": [{"hosts": [host], "secretName": f"tls-{tag}"}],
                "rules": [
                    {
                        "host": host,
                        "http": {
                            "paths": [
                                {
                                    "path": f"/{tag}",
                                    "pathType": "Prefix",
                                    "backend": {
                                        "service": {"name": f"svc-{tag}", "port": {"number": 80}}
                                    },
                                }
                            ]
                        },
                    }
                ],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": meta(f"key-{tag}", labels={"konghq.com/credential": "key-auth"}),
            "data": {"key": _b64(f"secret-key-{tag}")},
        },
        {
            "apiVersion": "configuration.konghq.com/v1",
            "kind": "KongConsumer",
            "metadata": meta(
                f"consumer-{tag}", annotations={"kubernetes.io/ingress.class": "kong"}
            ),
            "username": f"user-{tag}",
            "credentials": [f"key-{tag}"],
        },
    ]


def _upsert_all(store: Store, objects: list[dict[str, Any]]) -> None:
    for raw in objects:
        store.apply(Upsert(raw["kind"], parse(raw["kind"], raw)))


def test_store_and_translator_bookkeeping_return_to_size_after_churn() -> None:
    store = Store()
    for i in range(5):
        _upsert_all(
            store,
            _app(
                f"base{i}",
                1,
                host=f"b{i}.example.com",
                broken_cert=False,
                address=f"10.0.0.{i + 1}",
            ),
        )
    tr = Translator()
    store.take_changes()
    first = tr.translate(store.snapshot())
    assert tr.bookkeeping()["frags.services"] == 5

    def cycle(k: int) -> bool:
        tag = f"c{k}"
        created = _app(tag, 1, host=f"{tag}.example.com", broken_cert=False, address="10.9.0.1")
        _upsert_all(store, created)
        tr.translate(store.snapshot(), store.take_changes())
        grew = tr.bookkeeping()["frags.services"] == 6
        # changed: another host, a moved endpoint, a certificate that no longer parses, a
        # plugin whose config Secret is missing
        changed = _app(
            tag, 2, host=f"{tag}-moved.example.com", broken_cert=True, address="10.9.0.2"
        )
        _upsert_all(store, changed)
        mid = tr.translate(store.snapshot(), store.take_changes())
        reasons = {(f.obj.kind, f.obj.name) for f in mid.failures}
        assert ("Secret", f"tls-{tag}") in reasons and ("KongPlugin", f"auth-{tag}") in reasons
        for raw in created:
            store.apply(Delete(raw["kind"], NS, raw["metadata"]["name"]))
        store.take_newly_wanted_secrets()
        tr.translate(store.snapshot(), store.take_changes())
        return grew

    # one cycle first: the first failing plugin builds the fail-closed index (bounded by the
    # units held, built once), which is not growth
    assert cycle(0)
    store_before, tr_before = store.bookkeeping(), tr.bookkeeping()
    seen_growth = all([cycle(k) for k in range(1, 150)])  # noqa: C419 - run every cycle
    assert seen_growth, "every churned app was translated"
    last = tr.translate(store.snapshot(), store.take_changes())
    assert store.bookkeeping() == store_before
    grown = {k: (v, tr_before.get(k)) for k, v in tr.bookkeeping().items() if v != tr_before.get(k)}
    assert not grown, f"translator caches that kept churned objects: {grown}"
    assert last.body == first.body and last.sha == first.sha
    assert last.failures == first.failures == ()
