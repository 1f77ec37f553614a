"""Admission webhook answer time for a KongPlugin create: direct HTTPS and through kube-apiserver.

With N background sets (``_sets.py``: 7 objects each, among them a KongPlugin and a KongConsumer
with a credential Secret) loaded into a real kube-apiserver, a controller runs **in this process**
(``kic_trio.run``) with ``--admission-webhook-listen=127.0.0.1:0`` and a certificate from a
throw-away CA, FakeKong as its gateway. Reported (ms, one request at a time):

* ``direct_allowed`` / ``direct_refused`` — an AdmissionReview for a valid / an invalid
  KongPlugin create POSTed straight to the webhook over HTTPS (kept-alive connection): the
  webhook's own answer time. The store does not change between samples, so each decision is
  two incremental translations (the candidate in, then out);
* ``api_with_webhook`` — a KongPlugin create through the API server with a
  ValidatingWebhookConfiguration (``url:``, ``caBundle``) sending it to the webhook; each create
  changes the store, so the next decision starts with one full translation of the view;
* ``api_without_webhook`` — the same create with no webhook configured: the baseline, so the
  difference is what the webhook adds to a user's ``kubectl apply``.

The client shares the process (and the 2 cores) with the controller: numbers are an upper bound.

Usage: ``python benchmarks/admission_latency.py [--sets 0,1000] [--samples 100]``; writes
``benchmarks/results/admission_latency.json`` (merged by N) and ``admission_p50_ms`` /
``admission_p99_ms`` (direct, allowed, at the largest N) into ``results/summary.json``.
"""

from __future__ import annotations

import argparse
import base64
import json
import ssl
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import trio

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import (
    RESULTS,
    Cluster,
    ControlPlane,
    log,
    machine,
    merge_by_sets,
    new_fakekong,
    parse_sets,
    summary_stats,
    write_json,
)

import kic_trio
from kic_trio.testing.fakekong import TestCA

NS = "bench-admission"
VWC = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"
PLUGINS = f"/apis/configuration.konghq.com/v1/namespaces/{NS}/kongplugins"


def _plugin(name: str, bad: bool) -> dict[str, Any]:
    spec: dict[str, Any] = (
        {"plugin": "rate-limiting", "configFrom": {"secretKeyRef": {"name": "nowhere", "key": "k"}}}
        if bad
        else {"plugin": "key-auth", "config": {"key_names": ["apikey"]}}
    )
    return {
        "apiVersion": "configuration.konghq.com/v1",
        "kind": "KongPlugin",
        "metadata": {"name": name, "namespace": NS},
        **spec,
    }


def _review(obj: dict[str, Any], uid: str) -> bytes:
    return orjson.dumps(
        {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": uid,
                "kind": {
                    "group": "configuration.konghq.com",
                    "version": "v1",
                    "kind": "KongPlugin",
                },
                "operation": "CREATE",
                "namespace": NS,
                "name": obj["metadata"]["name"],
                "object": obj,
            },
        }
    )


def _webhook_config(url: str, ca_pem: str) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "bench-kic-trio"},
        "webhooks": [
            {
                "name": "kongplugins.bench.kic-trio.test",
                "clientConfig": {
                    "url": url,
                    "caBundle": base64.b64encode(ca_pem.encode()).decode(),
                },
                "rules": [
                    {
                        "apiGroups": ["configuration.konghq.com"],
                        "apiVersions": ["*"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["kongplugins"],
                    }
                ],
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": NS}},
                "failurePolicy": "Fail",
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
            }
        ],
    }


async def _direct(url: str, ca_pem: str, samples: int, bad: bool) -> list[float]:
    ctx = ssl.create_default_context(cadata=ca_pem)
    out: list[float] = []
    async with httpx.AsyncClient(verify=ctx, timeout=30) as client:
        for i in range(samples + 5):
            body = _review(_plugin(f"direct-{i}", bad), f"uid-{i}")
            t0 = time.perf_counter()
            r = await client.post(url, content=body, headers={"content-type": "application/json"})
            ms = (time.perf_counter() - t0) * 1000
            allowed = r.json()["response"]["allowed"]
            assert allowed is (not bad), r.text
            if i >= 5:  # the first few warm the connection and the translator
                out.append(ms)
    return out


async def _through_api(client: httpx.AsyncClient, samples: int, prefix: str) -> list[float]:
    out: list[float] = []
    for i in range(samples):
        t0 = time.perf_counter()
        r = await client.post(PLUGINS, json=_plugin(f"{prefix}-{i}", False))
        out.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 201, r.text
    return out


async def _until_in_force(client: httpx.AsyncClient) -> None:
    """The API server picks a new webhook configuration up asynchronously: wait until a bad
    create is refused by our webhook."""
    for _ in range(600):
        r = await client.post(PLUGINS, json=_plugin("probe-bad", True))
        if r.status_code == 400 and "would not be configured" in r.text:
            return
        if r.status_code == 201:
            await client.delete(f"{PLUGINS}/probe-bad")
        await trio.sleep(0.1)
    raise RuntimeError("the webhook configuration never came into force")


async def measure(cluster: Cluster, n: int, samples: int) -> dict[str, Any]:
    await cluster.load_to(n)
    client = cluster.client
    ca = TestCA("kic-trio admission bench CA")
    pair = ca.issue("webhook", ips=("127.0.0.1",))
    async with new_fakekong(n, "auto") as kong, trio.open_nursery() as nursery:
        cfg = kic_trio.Config(
            kubeconfig=str(cluster.cp.kubeconfig),
            kong_admin_url=[kong.url],
            health_probe_bind_address="127.0.0.1:0",
            metrics_bind_address="127.0.0.1:0",
            admission_webhook_listen="127.0.0.1:0",
            admission_webhook_cert=pair.cert_pem,
            admission_webhook_key=pair.key_pem,
            update_status=False,
        )
        controller: kic_trio.Controller = await nursery.start(kic_trio.run, cfg)
        await controller.wait_ready()
        assert controller.admission_address is not None
        host, port = controller.admission_address
        url = f"https://{host}:{port}/"
        log(f"N={n}: controller ready, webhook at {url}")
        allowed = await _direct(url, ca.cert_pem, samples, bad=False)
        refused = await _direct(url, ca.cert_pem, samples, bad=True)
        base = await _through_api(client, samples, f"plain{n}")
        r = await client.post(VWC, json=_webhook_config(url, ca.cert_pem))
        r.raise_for_status()
        try:
            await _until_in_force(client)
            hooked = await _through_api(client, samples, f"hooked{n}")
        finally:
            await client.delete(f"{VWC}/bench-kic-trio")
        nursery.cancel_scope.cancel()
    return {
        "sets": n,
        "samples": samples,
        "direct_allowed": summary_stats(allowed),
        "direct_refused": summary_stats(refused),
        "api_with_webhook": summary_stats(hooked),
        "api_without_webhook": summary_stats(base),
    }


def table(runs: list[dict[str, Any]]) -> str:
    rows = [
        "| sets | measure | n | p50 ms | p99 ms | max ms |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for run in runs:
        for key in ("direct_allowed", "direct_refused", "api_with_webhook", "api_without_webhook"):
            s = run[key]
            rows.append(
                f"| {run['sets']} | {key} | {s['n']} | {s['p50_ms']} | {s['p99_ms']} | {s['max_ms']} |"
            )
    return "\n".join(rows)


async def main_async(sets: list[int], samples: int) -> list[dict[str, Any]]:
    runs = []
    async with ControlPlane() as cp, cp.admin_client(timeout=30) as client:
        cluster = Cluster(cp, client)
        await cluster.setup()
        r = await client.post("/api/v1/namespaces", json={"metadata": {"name": NS}})
        assert r.status_code in (201, 409), r.text
        for n in sets:
            runs.append(await measure(cluster, n, samples))
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sets", default="0,1000", type=parse_sets)
    parser.add_argument("--samples", default=100, type=int)
    args = parser.parse_args()
    runs = trio.run(main_async, args.sets, args.samples)
    data = merge_by_sets("admission_latency.json", {"machine": machine(), "runs": runs})
    write_json("admission_latency.json", data)
    summary_path = RESULTS / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    biggest = max(data["runs"], key=lambda r: r["sets"])
    summary["admission_p50_ms"] = biggest["direct_allowed"]["p50_ms"]
    summary["admission_p99_ms"] = biggest["direct_allowed"]["p99_ms"]
    summary["admission_sets"] = biggest["sets"]
    summary_path.write_text(json.dumps(summary, indent=2) + "\n")
    print(table(sorted(data["runs"], key=lambda r: r["sets"])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
