"""Gateway status benchmark: N HTTPRoutes attached to one Gateway of an *unmanaged* class.

    python benchmarks/gateway_status.py --sizes 1000

Unlike ``httproute_latency.py`` (a managed class: listener readiness read from status), the
Gateway here is this controller's own: listener readiness, listener conditions and
``attachedRoutes`` are computed by the translator (``translator/_gateways.py``). Measured, in
the translator, traditional router:

* full translation (wall s) and peak RSS;
* one HTTPRoute change (a header value: attachment unchanged), p50/p99 ms;
* one HTTPRoute detached and re-attached (``attachedRoutes`` changes: the Gateway unit is
  recomputed, its status rewritten), p50/p99 ms;
* the listener certificate Secret rotated (same validity): every attached route re-checks its
  attachment (their recorded inputs include that Secret), p50 ms.

Prints a table and writes ``benchmarks/results/gateway_status.json``.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import gc
import json
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kic_trio._deltas import Upsert
from kic_trio.models import parse
from kic_trio.store import Store
from kic_trio.translator import Translator, TranslatorOptions

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from httproute_latency import _set  # noqa: E402  (the same route sets)

GW = "gateway.networking.k8s.io"


def _pem_pair() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gw.example.com")])
    start = datetime.datetime(2025, 1, 1)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1).not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=3650)).sign(key, hashes.SHA256())
    )  # fmt: skip
    return (
        base64.b64encode(cert.public_bytes(serialization.Encoding.PEM)).decode(),
        base64.b64encode(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ).decode(),
    )


def _secret(version: int) -> dict[str, Any]:
    cert, key = _pem_pair()
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": "gw-cert", "namespace": "gw", "uid": f"cert-{version}"},
            "data": {"tls.crt": cert, "tls.key": key}}  # fmt: skip


def _gateway() -> list[dict[str, Any]]:
    return [
        {"apiVersion": f"{GW}/v1", "kind": "GatewayClass",
         "metadata": {"name": "kong", "annotations": {"konghq.com/gatewayclass-unmanaged": "true"}},
         "spec": {"controllerName": "konghq.com/kic-gateway-controller"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "proxy", "namespace": "gw"},
         "spec": {"clusterIPs": ["10.0.0.10"],
                  "ports": [{"name": "http", "port": 80, "targetPort": 8000},
                            {"name": "https", "port": 443, "targetPort": 8443}]}},
        _secret(0),
        {"apiVersion": f"{GW}/v1", "kind": "Gateway",
         "metadata": {"name": "kong", "namespace": "gw", "generation": 1},
         "spec": {"gatewayClassName": "kong", "listeners": [
             {"name": "http", "port": 80, "protocol": "HTTP",
              "allowedRoutes": {"namespaces": {"from": "All"}}},
             {"name": "https", "port": 443, "protocol": "HTTPS", "hostname": "*.example.com",
              "allowedRoutes": {"namespaces": {"from": "All"}},
              "tls": {"certificateRefs": [{"name": "gw-cert"}]}}]}},
    ]  # fmt: skip


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def _stats(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50": round(statistics.median(values), 2),
            "p99": round(_pct(values, 99), 2), "max": round(max(values), 2)}  # fmt: skip


def _attached(result: Any) -> int:
    for ref, st in result.status.items():
        if ref.kind == "Gateway":
            return sum(lst.attached_routes for lst in st.listeners if lst.name == "http")
    return -1


def run(n: int, changes: int) -> dict[str, Any]:
    store = Store()
    for obj in _gateway():
        store.apply(Upsert(obj["kind"], parse(obj["kind"], obj)))
    for i in range(n):
        for obj in _set(i):
            store.apply(Upsert(obj["kind"], parse(obj["kind"], obj)))
    store.take_changes()
    opts = TranslatorOptions(
        publish_services=("gw/proxy",), kong_proxy_listeners=((8000, False), (8443, True))
    )
    gc.collect()
    w = time.perf_counter()
    tr = Translator(opts)
    result = tr.translate(store.snapshot())
    full = time.perf_counter() - w
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if _attached(result) != n:
        raise SystemExit(
            f"expected {n} routes attached to the http listener, got {_attached(result)}"
        )

    def step(kind: str, obj: dict[str, Any]) -> tuple[float, Any]:
        store.apply(Upsert(kind, parse(kind, obj)))
        w = time.perf_counter()
        out = tr.translate(store.snapshot(), store.take_changes())
        _ = out.body, out.sha
        return (time.perf_counter() - w) * 1000, out

    plain: list[float] = []
    detach: list[float] = []
    for k in range(changes):
        i = (k * 7919) % n
        plain.append(step("HTTPRoute", _set(i, version=k + 1)[2])[0])
        route = _set(i, version=k + 1)[2]
        route["spec"]["parentRefs"] = [{"name": "other", "namespace": "gw"}]
        ms, out = step("HTTPRoute", route)
        assert _attached(out) == n - 1
        detach.append(ms)
        ms, out = step("HTTPRoute", _set(i, version=k + 2)[2])
        assert _attached(out) == n
        detach.append(ms)
    rotate = [step("Secret", _secret(k + 1))[0] for k in range(max(3, changes // 10))]
    return {
        "httproutes": n,
        "full_wall_s": round(full, 3),
        "peak_rss_mib": round(rss / 2**20, 1),
        "route_change_ms": _stats(plain),
        "attach_change_ms": _stats(detach),
        "listener_secret_rotation_ms": _stats(rotate),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000")
    ap.add_argument("--changes", type=int, default=30)
    args = ap.parse_args()
    rows = [run(int(s), args.changes) for s in args.sizes.split(",")]
    print(
        "| HTTPRoutes | full s | RSS MiB | change p50/p99 ms | attach change p50/p99 ms | Secret rotation p50 ms |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        a, b, c = r["route_change_ms"], r["attach_change_ms"], r["listener_secret_rotation_ms"]
        print(f"| {r['httproutes']} | {r['full_wall_s']} | {r['peak_rss_mib']} | {a['p50']}/{a['p99']} "
              f"| {b['p50']}/{b['p99']} | {c['p50']} |")  # fmt: skip
    out = HERE / "results" / "gateway_status.json"
    out.write_text(json.dumps({"rows": rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
