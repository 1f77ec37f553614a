"""Gateway discovery against a real kube-apiserver: EndpointSlices the test creates and deletes
become (and stop being) gateways, each configured at once."""

from __future__ import annotations

import functools
import hashlib
from typing import Any

import orjson
import trio

import kic_trio
from kic_trio._instance import Instance
from kic_trio._latest import LatestValue
from kic_trio._payload import ConfigPayload
from kic_trio.k8s import open_kube_client
from kic_trio.kong import GatewaySet, run_applier, run_gateway_discovery
from kic_trio.testing import FakeKong
from kic_trio.testing.controlplane import ControlPlane
from kic_trio.testing.fakekong import TestCA

SVC = "kong-admin"
#: Kubernetes refuses loopback addresses in EndpointSlices: the slices name this
#: documentation address (never routed), and the test maps it to the FakeKongs on loopback.
POD_IP = "192.0.2.10"


def to_loopback(address: str, port: int) -> str:
    assert address == POD_IP
    return f"https://127.0.0.1:{port}"


def endpoint_slice(name: str, port: int, *, ready: bool = True) -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": name, "labels": {"kubernetes.io/service-name": SVC}},
        "addressType": "IPv4",
        "ports": [{"name": "admin-tls", "port": port, "protocol": "TCP"}],
        "endpoints": [
            {
                "addresses": [POD_IP],
                "conditions": {"ready": ready},
                "targetRef": {"kind": "Pod", "name": f"{name}-pod", "namespace": "x"},
            }
        ],
    }


def payload() -> ConfigPayload:
    cfg = {
        "_format_version": "3.0",
        "services": [{"name": "s", "host": "example.com", "routes": [{"name": "r", "paths": ["/"]}]}],
    }
    body = orjson.dumps(cfg)
    return ConfigPayload(body=body, sha=hashlib.sha256(body).hexdigest())


async def test_discovery_follows_endpoint_slices(control_plane: ControlPlane, k8s_namespace: str) -> None:
    ns = k8s_namespace
    slices = f"/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices"
    ca = TestCA()
    p = payload()
    md5 = hashlib.md5(p.body).hexdigest()
    with trio.fail_after(90):
        async with FakeKong(tls=True, ca=ca) as a, FakeKong(tls=True, ca=ca) as b:
            cfg = kic_trio.Config(
                kubeconfig=str(control_plane.kubeconfig),
                kong_admin_svc=f"{ns}/{SVC}",
                kong_admin_ca_cert=ca.cert_pem,
                # the test certificates name localhost, not pod.<svc>.<ns>.svc
                kong_admin_tls_server_name="localhost",
                kong_status_check_interval=0.5,
            )
            inst = Instance.create(cfg)
            latest: LatestValue[ConfigPayload] = LatestValue()
            latest.put(p)
            gateways = GatewaySet()
            async with open_kube_client(cfg) as kube, trio.open_nursery() as nursery:
                await kube.request("POST", slices, json=endpoint_slice("one", a.port))
                await nursery.start(run_applier, inst, latest, gateways)
                await nursery.start(functools.partial(run_gateway_discovery, url_for=to_loopback), inst, kube, gateways)
                assert gateways.urls() == [f"https://127.0.0.1:{a.port}"]
                await a.wait_for(lambda f: f.configuration_hash == md5)

                # a new slice: a new gateway, configured at once
                await kube.request("POST", slices, json=endpoint_slice("two", b.port, ready=False))
                await kube.request("PUT", f"{slices}/two", json={
                    **endpoint_slice("two", b.port),
                    "metadata": (await kube.request("GET", f"{slices}/two")).json()["metadata"],
                })
                await b.wait_for(lambda f: f.configuration_hash == md5)
                both = {f"https://127.0.0.1:{a.port}": p.sha, f"https://127.0.0.1:{b.port}": p.sha}
                await gateways.wait_for(lambda g: g.applied_hashes() == both)
                # the TLS server name set by the flag was used, and verification passed
                assert all(r.status == 201 for r in b.config_posts())

                # the first slice goes away: that gateway is dropped and no longer contacted
                await kube.request("DELETE", f"{slices}/one")
                await gateways.wait_for(lambda g: g.urls() == [f"https://127.0.0.1:{b.port}"])
                seen = len(a.requests)
                # three status checks of b later, the applier had three chances to contact a
                checks_of_b = len([r for r in b.requests if r.path == "/status"])
                await b.wait_for(
                    lambda k: len([r for r in k.requests if r.path == "/status"]) >= checks_of_b + 3
                )
                assert len(a.requests) == seen
                nursery.cancel_scope.cancel()


async def test_discovery_ignores_other_services(control_plane: ControlPlane, k8s_namespace: str) -> None:
    ns = k8s_namespace
    slices = f"/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices"
    with trio.fail_after(60):
        cfg = kic_trio.Config(kubeconfig=str(control_plane.kubeconfig), kong_admin_svc=f"{ns}/{SVC}")
        inst = Instance.create(cfg)
        gateways = GatewaySet()
        other = endpoint_slice("other", 8444)
        other["metadata"]["labels"] = {"kubernetes.io/service-name": "not-kong"}
        async with open_kube_client(cfg) as kube, trio.open_nursery() as nursery:
            await kube.request("POST", slices, json=other)
            await nursery.start(run_gateway_discovery, inst, kube, gateways)
            assert gateways.urls() == []
            nursery.cancel_scope.cancel()
