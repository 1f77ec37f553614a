"""Synthetic "sets" of Kubernetes objects, like upstream's performance test, as raw dicts.

One set = an Ingress with a TLS host (+ its TLS Secret) -> a Service -> an EndpointSlice of 3
ready endpoints; a KongPlugin (key-auth) attached to the Ingress; a KongConsumer with a key-auth
credential Secret. Every set has its own certificate (EC P-256): generating them is slow, so they
are cached under ``$XDG_CACHE_HOME/kic-trio-bench`` (``~/.cache`` by default).

Other benchmarks reuse :func:`make_sets`, :func:`certificates` and :func:`endpoint_slice`.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import uuid
from pathlib import Path
from typing import Any

_UID_NS = uuid.UUID("6f1c5a52-7d3e-4d8e-9b1c-3f0a2b4c5d6e")
SETS_PER_NAMESPACE = 100


def _uid(kind: str, i: int) -> str:
    return str(uuid.uuid5(_UID_NS, f"{kind}/{i}"))


def _cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "kic-trio-bench" / "certs.jsonl"


def certificates(n: int) -> list[tuple[str, str]]:
    """``n`` distinct self-signed (cert PEM, key PEM) pairs, generated once and cached."""
    path = _cache_file()
    pairs: list[tuple[str, str]] = []
    if path.exists():
        with path.open() as f:
            for line in f:
                if len(pairs) >= n:
                    break
                c, k = json.loads(line)
                pairs.append((c, k))
    if len(pairs) < n:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        path.parent.mkdir(parents=True, exist_ok=True)
        start = datetime.datetime(2025, 1, 1)
        with path.open("a") as f:
            for i in range(len(pairs), n):
                key = ec.generate_private_key(ec.SECP256R1())
                name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"h{i}.example.com")])
                cert = (
                    x509.CertificateBuilder()
                    .subject_name(name)
                    .issuer_name(name)
                    .public_key(key.public_key())
                    .serial_number(i + 1)
                    .not_valid_before(start)
                    .not_valid_after(start + datetime.timedelta(days=3650))
                    .sign(key, hashes.SHA256())
                )
                pair = (
                    cert.public_bytes(serialization.Encoding.PEM).decode(),
                    key.private_bytes(
                        serialization.Encoding.PEM,
                        serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption(),
                    ).decode(),
                )
                f.write(json.dumps(pair) + "\n")
                pairs.append(pair)
    return pairs


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def namespace_of(i: int) -> str:
    return f"bench-{i // SETS_PER_NAMESPACE}"


def endpoint_slice(i: int, generation: int = 0) -> dict[str, Any]:
    """The EndpointSlice of set ``i``; a new ``generation`` moves one endpoint (a pod restart)."""
    ns = namespace_of(i)
    base = f"10.{(i >> 8) & 255}.{i & 255}"
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"svc-{i}-abcde",
            "namespace": ns,
            "uid": _uid("eps", i),
            "resourceVersion": str(1 + generation),
            "labels": {"kubernetes.io/service-name": f"svc-{i}"},
        },
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": [
            {"addresses": [f"{base}.{j + 1 + 3 * generation % 240}"], "conditions": {"ready": True}}
            for j in range(3)
        ],
    }


def make_set(i: int, cert: tuple[str, str]) -> list[dict[str, Any]]:
    ns = namespace_of(i)
    host = f"h{i}.example.com"

    def meta(kind: str, name: str, **extra: Any) -> dict[str, Any]:
        m: dict[str, Any] = {
            "name": name,
            "namespace": ns,
            "uid": _uid(kind, i),
            "resourceVersion": "1",
            "creationTimestamp": "2025-01-01T00:00:00Z",
        }
        m.update(extra)
        return m

    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/tls",
            "metadata": meta("tls", f"tls-{i}"),
            "data": {"tls.crt": _b64(cert[0]), "tls.key": _b64(cert[1])},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta("svc", f"svc-{i}"),
            "spec": {
                "type": "ClusterIP",
                "clusterIP": f"10.96.{(i >> 8) & 255}.{i & 255}",
                "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}],
            },
        },
        endpoint_slice(i),
        {
            "apiVersion": "configuration.konghq.com/v1",
            "kind": "KongPlugin",
            "metadata": meta("plugin", f"key-auth-{i}"),
            "plugin": "key-auth",
            "config": {"key_names": ["apikey"], "hide_credentials": True},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": meta(
                "ing", f"ing-{i}", annotations={"konghq.com/plugins": f"key-auth-{i}"}
            ),
            "spec": {
                "ingressClassName": "kong",
                "tls": [{"hosts": [host], "secretName": f"tls-{i}"}],
                "rules": [
                    {
                        "host": host,
                        "http": {
                            "paths": [
                                {
                                    "path": f"/api-{i}",
                                    "pathType": "Prefix",
                                    "backend": {
                                        "service": {"name": f"svc-{i}", "port": {"number": 80}}
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
            "metadata": meta("cred", f"key-{i}", labels={"konghq.com/credential": "key-auth"}),
            "data": {"key": _b64(f"key-{i}-{_uid('k', i)[:8]}")},
        },
        {
            "apiVersion": "configuration.konghq.com/v1",
            "kind": "KongConsumer",
            "metadata": meta(
                "consumer", f"consumer-{i}", annotations={"kubernetes.io/ingress.class": "kong"}
            ),
            "username": f"user-{i}",
            "credentials": [f"key-{i}"],
        },
    ]


def make_sets(n: int) -> list[dict[str, Any]]:
    """All objects of ``n`` sets (7 objects per set)."""
    certs = certificates(n)
    out: list[dict[str, Any]] = []
    for i in range(n):
        out.extend(make_set(i, certs[i]))
    return out
