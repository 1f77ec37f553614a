"""The hostile corpus (``corpus/hostile.yaml``, issue 13): loading, generators, the baseline.

Shared by the offline runner (``tests/unit/test_hostile_corpus.py``, ``kic-trio translate`` per
case) and the live one (``tests/reliability/test_hostile_live.py``, one controller, a namespace per
case). Nothing here asserts or talks to a server; it only turns the corpus into manifests.

Generators keep the corpus readable: a 60 000-character SNI, a 5 000-level JSON document, a
YAML alias bomb or bytes that are not UTF-8 would otherwise be unreadable (or, for the bytes,
impossible) in YAML. Bytes go base64 in a Secret's ``data``, as Kubernetes holds them.
"""

from __future__ import annotations

import base64
import copy
import datetime
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

CORPUS_FILE = Path(__file__).parent / "corpus" / "hostile.yaml"
#: The Service every case may use as a backend (the baseline's, with endpoints).
SERVICE = "hostile-svc"
#: Kinds that have no namespace.
CLUSTER_SCOPED = frozenset({"IngressClass", "KongClusterPlugin"})


def baseline_host(namespace: str) -> str:
    return f"baseline.{namespace}.hostile.test"


def baseline(namespace: str) -> list[dict[str, Any]]:
    """What must still be served next to each case: a Service with endpoints and an Ingress."""
    objs = [
        service(SERVICE),
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {"name": f"{SERVICE}-1", "labels": {"kubernetes.io/service-name": SERVICE}},
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
            "endpoints": [{"addresses": ["10.9.0.1"], "conditions": {"ready": True}}],
        },
        ingress("baseline", host=baseline_host(namespace)),
    ]
    for obj in objs:
        obj["metadata"]["namespace"] = namespace
    return objs


def service(name: str, ann: Mapping[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if ann:
        meta["annotations"] = dict(ann)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {"ports": [{"name": "http", "port": 80, "protocol": "TCP"}]},
    }


def ingress(
    name: str,
    *,
    ann: Mapping[str, str] | None = None,
    host: str | None = None,
    service: str = SERVICE,
    path: str = "/",
    pathType: str = "Prefix",
    tls: str | None = None,
    creationTimestamp: str | None = None,
) -> dict[str, Any]:
    host = host or f"{name}.hostile.test"
    meta: dict[str, Any] = {"name": name}
    if ann:
        meta["annotations"] = dict(ann)
    if creationTimestamp:
        meta["creationTimestamp"] = creationTimestamp
    spec: dict[str, Any] = {
        "ingressClassName": "kong",
        "rules": [
            {
                "host": host,
                "http": {
                    "paths": [
                        {
                            "path": path,
                            "pathType": pathType,
                            "backend": {"service": {"name": service, "port": {"number": 80}}},
                        }
                    ]
                },
            }
        ],
    }
    if tls:
        spec["tls"] = [{"hosts": [host], "secretName": tls}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec}


@functools.cache
def pem(which: str) -> str:
    """A PEM certificate made now: ``ca`` (valid CA), ``expired`` (CA, Not After in the past),
    ``leaf`` (valid, not a CA). Made at run time so none expires in the repository."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"hostile-{which}")])
    now = datetime.datetime.now(datetime.UTC)
    if which == "expired":
        start, end = now - datetime.timedelta(days=30), now - datetime.timedelta(days=1)
    else:
        start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=30)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=which != "leaf", path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def deep_json(levels: int) -> str:
    """A JSON object nested ``levels`` deep: ``{"n": {"n": ... 1 ...}}``."""
    return '{"n": ' * levels + "1" + "}" * levels


def alias_bomb(levels: int) -> str:
    """The billion-laughs document: each level is 9 aliases of the one above (9**levels)."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels + 1):
        refs = ",".join([f"*l{i - 1}"] * 9)
        lines.append(f"l{i}: &l{i} [{refs}]")
    return "\n".join(lines) + "\n"


def _nest(levels: int) -> dict[str, Any]:
    node: dict[str, Any] = {"n": 1}
    for _ in range(levels - 1):
        node = {"n": node}
    return node


def expand(node: Any, ns: str) -> Any:
    """Apply the corpus's generators (see the head of ``hostile.yaml``) for namespace ``ns``."""
    if isinstance(node, list):
        return [expand(v, ns) for v in node]
    if not isinstance(node, dict):
        return node
    node = {k: expand(v, ns) for k, v in node.items()}
    if "$ingress" in node:
        args = {k: v for k, v in node.items() if k != "$ingress"}
        return ingress(str(node["$ingress"]), **args)
    if "$service" in node:
        return service(str(node["$service"]), node.get("ann"))
    if "$b64" in node:
        raw = str(node["$b64"]).encode() + bytes.fromhex(str(node.get("tail_hex", "")))
        return base64.b64encode(raw).decode()
    if "$pem" in node:
        return pem(str(node["$pem"]))
    if "$deep" in node:
        return deep_json(int(node["$deep"]))
    if "$nest" in node:
        return _nest(int(node["$nest"]))
    if "$bomb" in node:
        return alias_bomb(int(node["$bomb"]))
    if "$repeat" in node:
        return str(node["$repeat"]) * int(node["times"])
    if "$join" in node:
        return "".join(str(p) for p in node["$join"])
    if "$ns" in node:
        prefix = str(node["$ns"])
        return f"{prefix}-{ns}" if prefix else ns
    return node


def load_cases(ns: str) -> list[dict[str, Any]]:
    """The corpus with generators applied and namespaced objects placed in ``ns`` (unless the
    case names another)."""
    out = []
    for case in yaml.safe_load(CORPUS_FILE.read_text()):
        case = expand(copy.deepcopy(case), ns)
        for obj in case["objects"]:
            if obj["kind"] not in CLUSTER_SCOPED:
                # a namespace written in the case is kept (offline only: another tenant's
                # objects, for cross-namespace references)
                obj.setdefault("metadata", {}).setdefault("namespace", ns)
        out.append(case)
    return out


def case_ids() -> list[str]:
    return [str(c["id"]) for c in yaml.safe_load(CORPUS_FILE.read_text())]


def hosts_in(config: Mapping[str, Any]) -> set[str]:
    return {
        h
        for svc in config.get("services", []) or []
        for r in svc.get("routes", []) or []
        for h in r.get("hosts", []) or []
    }


def clean_ca_problem(config: Mapping[str, Any], ca_id: str) -> str | None:
    """Why ``ca_certificates[id=ca_id]`` in ``config`` is not one clean PEM block (``None``: it is).

    For CA Secrets with bytes around the certificate: accepted, as upstream, but what Kong
    receives must be the certificate alone, re-encoded (issue 13: "trailing bytes sent").
    """
    found = [c for c in config.get("ca_certificates", []) or [] if c.get("id") == ca_id]
    if not found:
        return f"ca_certificate {ca_id} not sent"
    cert = str(found[0].get("cert", ""))
    begin, end = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
    if not (cert.startswith(begin) and cert.rstrip("\n").endswith(end)):
        return "the CA certificate sent has bytes around the PEM block"
    if cert.count(begin) != 1 or not cert.isascii():
        return "the CA certificate sent is not one clean PEM block"
    return None
