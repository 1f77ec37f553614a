"""``ControlPlane(workloads=True)``: Deployments become Ready Pods with IPs and EndpointSlices.

This is what the Gateway API conformance run needs from its cluster (its echo Deployments
must be Ready), made without a kubelet: kube-controller-manager and kube-scheduler from the
same Kubernetes build, KWOK with one fake Node. The extras are opt-in: their binaries come
from ``python -m kic_trio.testing.controlplane build --workloads`` (``nox -s
gateway_conformance`` runs it, and this module first); where they were never built this module
skips and says how to build them, so the normal suite neither builds nor starts them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import trio

from _eventually import eventually
from kic_trio.testing.controlplane import ControlPlane, binaries_present

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not binaries_present(workloads=True),
        reason="workload extras not built: run `python -m kic_trio.testing.controlplane build "
        "--workloads` (nox -s gateway_conformance does)",
    ),
]

NS = "default"


def _deployment(name: str, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {
                            "name": "echo",
                            "image": "never-pulled.invalid/echo:1",
                            "ports": [{"containerPort": 3000}],
                            "readinessProbe": {"httpGet": {"path": "/", "port": 3000}},
                        }
                    ]
                },
            },
        },
    }


async def _ready_replicas(client: httpx.AsyncClient, name: str) -> int:
    r = await client.get(f"/apis/apps/v1/namespaces/{NS}/deployments/{name}")
    r.raise_for_status()
    return int((r.json().get("status") or {}).get("readyReplicas") or 0)


@pytest.fixture
async def workload_plane() -> AsyncIterator[ControlPlane]:
    with trio.fail_after(120):
        cp = ControlPlane(workloads=True, install_crds=False)
        await cp.astart()
    try:
        yield cp
    finally:
        await cp.astop()


async def test_deployment_becomes_ready_pods_with_endpoints(workload_plane: ControlPlane) -> None:
    cp = workload_plane
    with trio.fail_after(90):
        async with cp.admin_client() as client:
            r = await client.post(
                f"/apis/apps/v1/namespaces/{NS}/deployments", json=_deployment("echo", 2)
            )
            assert r.status_code == 201, r.text
            svc = {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "echo", "namespace": NS},
                "spec": {
                    "selector": {"app": "echo"},
                    "ports": [{"port": 8080, "targetPort": 3000}],
                },
            }
            assert (
                await client.post(f"/api/v1/namespaces/{NS}/services", json=svc)
            ).status_code == 201

            async def two_ready() -> bool:
                return await _ready_replicas(client, "echo") == 2

            await eventually(two_ready, interval=0.2, what="2 ready replicas")
            pods = (await client.get(f"/api/v1/namespaces/{NS}/pods")).json()["items"]
            assert {p["status"]["phase"] for p in pods} == {"Running"}
            ips = {p["status"]["podIP"] for p in pods}
            assert len(ips) == 2 and all(ip.startswith("10.244.") for ip in ips)
            assert {p["spec"]["nodeName"] for p in pods} == {"kwok-node-0"}

            async def endpoint_ips() -> set[str]:
                r = await client.get(
                    f"/apis/discovery.k8s.io/v1/namespaces/{NS}/endpointslices",
                    params={"labelSelector": "kubernetes.io/service-name=echo"},
                )
                return {
                    a
                    for s in r.json()["items"]
                    for e in s.get("endpoints") or []
                    for a in e["addresses"]
                }

            assert (
                await eventually(endpoint_ips, interval=0.2, what="EndpointSlice addresses") == ips
            )


async def test_fake_node_lease_is_renewed(workload_plane: ControlPlane) -> None:
    """Without a renewed Lease the node lifecycle controller flaps the Node and unreadies Pods."""
    path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/kwok-node-0"
    with trio.fail_after(60):
        async with workload_plane.admin_client() as client:

            async def renew_time() -> str:
                r = await client.get(path)
                return str(r.json()["spec"]["renewTime"]) if r.status_code == 200 else ""

            first = await eventually(renew_time, interval=0.5, what="the fake Node's Lease")

            async def renewed() -> bool:
                return await renew_time() not in ("", first)

            await eventually(renewed, interval=0.5, what="the Lease renewed")


async def test_namespace_deletion_completes(workload_plane: ControlPlane) -> None:
    with trio.fail_after(90):
        async with workload_plane.admin_client() as client:
            r = await client.post("/api/v1/namespaces", json={"metadata": {"name": "wl-gone"}})
            assert r.status_code == 201
            assert (await client.delete("/api/v1/namespaces/wl-gone")).status_code == 200

            async def gone() -> bool:
                return (await client.get("/api/v1/namespaces/wl-gone")).status_code == 404

            await eventually(gone, interval=0.2, what="namespace wl-gone removed")


async def test_workload_processes_stop_with_the_plane() -> None:
    with trio.fail_after(120):
        cp = ControlPlane(workloads=True, install_crds=False)
        await cp.astart()
        logs = cp.workload_logs()
        assert set(logs) == {"kube-controller-manager", "kube-scheduler", "kwok"}
        pids = list(cp.workload_pids().values())
        folder = cp.dir
        await cp.astop()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not await trio.Path(folder).exists()


def _pids_mentioning(folder: str) -> dict[int, str]:
    """PID -> program name of every live process whose arguments mention ``folder``."""
    found: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z" and any(folder.encode() in arg for arg in argv[1:]):
            found[int(entry)] = os.path.basename(argv[0].decode(errors="replace"))
    return found


async def test_guard_stops_workload_processes_when_the_owner_is_killed() -> None:
    """SIGKILL of ``up --workloads``: the guard still stops kcm, scheduler and KWOK too."""
    with trio.fail_after(120):
        proc = await trio.lowlevel.open_process(
            [sys.executable, "-m", "kic_trio.testing.controlplane", "up", "--workloads"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert proc.stdout is not None
        buf = b""
        while b"ETCD_URL=" not in buf:
            chunk = await proc.stdout.receive_some()
            assert chunk, f"`up --workloads` exited before it was ready: {buf!r}"
            buf += chunk
        kubeconfig = buf.split(b"KUBECONFIG=", 1)[1].split(b"\n", 1)[0].decode()
        folder = os.path.dirname(kubeconfig)
        names = set(_pids_mentioning(folder).values())
        assert {"kube-controller-manager", "kube-scheduler", "kwok"} <= names, names
        proc.kill()
        await proc.wait()
        await proc.stdout.aclose()

        def all_gone() -> bool:
            return not _pids_mentioning(folder) and not os.path.exists(folder)

        await eventually(all_gone, interval=0.2, what=f"every process of {folder} stopped")
