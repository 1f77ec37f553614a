"""Opt-in extras that make workloads real enough: Deployments → ReplicaSets → Ready Pods.

A bare etcd + kube-apiserver stores a Deployment and stops there: nothing makes its
ReplicaSet, nothing schedules or runs its Pods, nothing fills a Service's EndpointSlices, and
deleted namespaces stay ``Terminating``. The Gateway API conformance suite waits for its echo
Deployments to be Ready before it runs a single test, so it needs more:

* **kube-controller-manager** (the same Kubernetes build as kube-apiserver): Deployments,
  ReplicaSets, EndpointSlices, namespace deletion, garbage collection, ServiceAccounts;
* **kube-scheduler** (same build): binds Pods to a Node;
* **KWOK's controller** (``sigs.k8s.io/kwok``) with one fake Node: it heartbeats that Node and
  marks the Pods bound to it ``Running``/``Ready`` with an IP from ``--cidr``, without running
  any container. Nothing listens on those IPs: they are for the API's sake only (EndpointSlices,
  Kong targets in FakeKong); never send traffic to them.

All three are optional (``ControlPlane(workloads=True)``; binaries from
``build --workloads``), so the normal test suite neither builds nor starts them. They run as
the admin user (``system:masters``): a test harness, not a hardened cluster.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import httpx
import trio

#: The fake Node's name and the annotation KWOK manages it by (KWOK's own convention).
FAKE_NODE = "kwok-node-0"
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
#: Pod IPs KWOK hands out. Fake: nothing answers there, so nothing may be sent there.
POD_CIDR = "10.244.0.0/16"


def controller_manager_args(
    binary: Path, kubeconfig: Path, sa_key: Path, ca_cert: Path, cluster_cidr: str
) -> list[str]:
    """kube-controller-manager with every default controller, no serving port, no election.

    ``--secure-port=0``: it serves nothing (readiness is judged by its work: the ``default``
    ServiceAccount appearing). Raised API QPS: the suite makes dozens of objects at once and
    the default 20 QPS makes Pods appear seconds late.
    """
    return [
        str(binary),
        f"--kubeconfig={kubeconfig}",
        "--leader-elect=false",
        "--secure-port=0",
        "--controllers=*",
        "--use-service-account-credentials=false",
        f"--service-account-private-key-file={sa_key}",
        f"--root-ca-file={ca_cert}",
        f"--cluster-cidr={cluster_cidr}",
        "--kube-api-qps=200",
        "--kube-api-burst=400",
        "--concurrent-deployment-syncs=10",
        "--concurrent-replicaset-syncs=10",
        "--concurrent-service-endpoint-syncs=10",
        "--concurrent-namespace-syncs=10",
        "--v=1",
    ]


def scheduler_args(binary: Path, kubeconfig: Path) -> list[str]:
    """kube-scheduler with its defaults, no serving port, no election."""
    return [
        str(binary),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--leader-elect=false",
        "--secure-port=0",
        "--kube-api-qps=200",
        "--kube-api-burst=400",
        "--v=1",
    ]


def kwok_args(binary: Path, kubeconfig: Path, config: Path) -> list[str]:
    """KWOK managing only Nodes annotated ``kwok.x-k8s.io/node=fake`` (never a real one).

    ``config`` is our own file (:func:`write_kwok_config`), so a ``~/.kwok/kwok.yaml`` of the
    user's never changes what the harness does. ``--node-lease-duration-seconds`` must be set
    here: without a renewed Node Lease, kube-controller-manager's node lifecycle controller
    marks the Node NotReady every 50 s, which sets every Pod's Ready to False, and KWOK's
    "fast" stages only make *Pending* Pods Ready, so they stay NotReady (the conformance
    suite then waits for its namespaces forever).
    """
    return [
        str(binary),
        f"--kubeconfig={kubeconfig}",
        f"--config={config}",
        f"--manage-nodes-with-annotation-selector={KWOK_NODE_ANNOTATION}=fake",
        f"--cidr={POD_CIDR}",
        "--node-ip=127.0.0.1",
        "--node-lease-duration-seconds=40",
        "--server-address=",
    ]


def write_kwok_config(path: Path, stages: Path) -> Path:
    """KWOK's configuration: its "fast" stages and nothing else.

    KWOK has no stages built in; ``stages`` is its "fast" set (Nodes initialise and
    heartbeat; Pods become Ready at once), taken from its pinned module by the build
    (``build --workloads`` writes it beside the binaries). No ``KwokConfiguration`` document:
    an empty one would zero KWOK's defaults (its parallelism options) instead of keeping them.
    """
    path.write_text(stages.read_text())
    return path


def fake_node() -> dict[str, object]:
    """The Node KWOK pretends to run: roomy, untainted, so every echo Pod fits on it."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": FAKE_NODE,
            "annotations": {KWOK_NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": FAKE_NODE,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
        },
        "spec": {},
        "status": {
            "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "1000"},
            "capacity": {"cpu": "64", "memory": "256Gi", "pods": "1000"},
            "nodeInfo": {
                "architecture": "amd64",
                "operatingSystem": "linux",
                "kubeletVersion": "fake",
                "kubeProxyVersion": "fake",
            },
        },
    }


async def create_fake_node(client: httpx.AsyncClient) -> None:
    """Create the fake Node (idempotent: 409 is fine)."""
    r = await client.post("/api/v1/nodes", json=fake_node())
    if r.status_code not in (201, 409):
        raise RuntimeError(f"creating the fake Node: {r.status_code} {r.text[:300]}")


async def wait_workloads_ready(client: httpx.AsyncClient) -> None:
    """Until kube-controller-manager has made ``default/default`` and KWOK says the Node is Ready.

    The caller bounds this with a timeout and checks the children are alive in between.
    """
    while True:
        with contextlib.suppress(httpx.HTTPError):
            sa = await client.get("/api/v1/namespaces/default/serviceaccounts/default")
            node = await client.get(f"/api/v1/nodes/{FAKE_NODE}")
            if sa.status_code == 200 and node.status_code == 200:
                conds = (node.json().get("status") or {}).get("conditions") or []
                if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds):
                    return
        await trio.sleep(0.2)
