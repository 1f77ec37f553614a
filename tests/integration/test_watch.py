"""The watch layer against a real kube-apiserver: every kind reaches the store, filters work."""

from __future__ import annotations

import base64
import json
import secrets
import socket
from pathlib import Path
from typing import Any

import httpx
import trio
import yaml

from _eventually import eventually
from kic_trio._deltas import Delete, Synced, Upsert
from kic_trio.k8s import KindHandler, Reflector, collection_path, open_kube_client, run_kind
from kic_trio.models import KINDS, KindInfo
from kic_trio.testing.controlplane import ControlPlane, wait_crds_established

CLASS_ANN = "kubernetes.io/ingress.class"


def manifest(kind: str, ns: str, name: str) -> dict[str, Any]:
    """A minimal valid object of ``kind`` (cluster-scoped kinds ignore ``ns``)."""
    info = KINDS[kind]
    meta: dict[str, Any] = {"name": name}
    if info.namespaced:
        meta["namespace"] = ns
    body: dict[str, Any] = {"apiVersion": info.api_version, "kind": kind, "metadata": meta}
    if kind == "Ingress":
        body["spec"] = {
            "ingressClassName": "kong",
            "rules": [
                {
                    "host": f"{name}.example.com",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "svc", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ],
        }
    elif kind == "IngressClass":
        body["spec"] = {"controller": "ingress-controllers.konghq.com/kong"}
    elif kind == "IngressClassParameters":
        body["spec"] = {"serviceUpstream": True}
    elif kind == "Service":
        body["spec"] = {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]}
    elif kind == "EndpointSlice":
        meta["labels"] = {"kubernetes.io/service-name": "svc"}
        body["addressType"] = "IPv4"
        body["endpoints"] = [{"addresses": ["10.0.0.5"], "conditions": {"ready": True}}]
        body["ports"] = [{"name": "http", "port": 8080, "protocol": "TCP"}]
    elif kind == "Secret":
        meta["labels"] = {"konghq.com/ca-cert": "true"}
        body["data"] = {"cert": base64.b64encode(b"not really a cert").decode()}
    elif kind in ("KongPlugin", "KongClusterPlugin"):
        body["plugin"] = "key-auth"
        if kind == "KongClusterPlugin":
            meta["annotations"] = {CLASS_ANN: "kong"}
    elif kind == "KongConsumer":
        body["username"] = name
        meta["annotations"] = {CLASS_ANN: "kong"}
    elif kind == "KongConsumerGroup":
        meta["annotations"] = {CLASS_ANN: "kong"}
    elif kind == "KongUpstreamPolicy":
        body["spec"] = {"algorithm": "round-robin"}
    elif kind == "KongIngress":
        body["upstream"] = {"algorithm": "round-robin"}
    elif kind == "KongServiceFacade":
        meta["annotations"] = {CLASS_ANN: "kong"}
        body["spec"] = {"backendRef": {"name": "svc", "port": 80}}
    elif kind == "KongCustomEntity":
        body["spec"] = {
            "controllerName": "kong",
            "type": "degraphql_routes",
            "parentRef": {"group": "configuration.konghq.com", "kind": "KongPlugin", "name": "p"},
            "fields": {"uri": "/q", "query": "query{ a }"},
        }
    elif kind == "KongVault":
        meta["annotations"] = {CLASS_ANN: "kong"}
        body["spec"] = {"backend": "env", "prefix": name, "config": {"prefix": "SECRET_"}}
    elif kind in ("TCPIngress", "UDPIngress"):
        meta["annotations"] = {CLASS_ANN: "kong"}
        body["spec"] = {
            "rules": [{"port": 9000, "backend": {"serviceName": "svc", "servicePort": 80}}]
        }
    elif kind == "Namespace":
        pass  # labels only
    elif kind == "GatewayClass":
        body["spec"] = {"controllerName": "konghq.com/kic-gateway-controller"}
    elif kind == "Gateway":
        body["spec"] = {
            "gatewayClassName": "kong",
            "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}],
        }
    elif kind in ("HTTPRoute", "GRPCRoute", "TCPRoute", "UDPRoute", "TLSRoute"):
        body["spec"] = {
            "parentRefs": [{"name": "gw"}],
            "rules": [{"backendRefs": [{"name": "svc", "port": 80}]}],
        }
        if kind == "TLSRoute":
            body["spec"]["hostnames"] = ["tls.example.com"]
    elif kind == "ReferenceGrant":
        body["spec"] = {
            "from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "x"}],
            "to": [{"group": "", "kind": "Service"}],
        }
    elif kind == "BackendTLSPolicy":
        body["spec"] = {
            "targetRefs": [{"group": "", "kind": "Service", "name": "svc"}],
            "validation": {"hostname": "svc.example.com", "wellKnownCACertificates": "System"},
        }
    else:
        raise AssertionError(f"{kind}: add a minimal valid manifest for the new kind here")
    return body


def object_path(kind: str, ns: str, name: str) -> str:
    info = KINDS[kind]
    return f"{collection_path(info, ns if info.namespaced else None)}/{name}"


async def create(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    info = KINDS[body["kind"]]
    ns = body["metadata"].get("namespace")
    r = await client.post(collection_path(info, ns), json=body)
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


async def patch(
    client: httpx.AsyncClient, kind: str, ns: str, name: str, body: dict[str, Any]
) -> None:
    r = await client.patch(
        object_path(kind, ns, name),
        json=body,
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200, r.text


async def delete(client: httpx.AsyncClient, kind: str, ns: str, name: str) -> None:
    r = await client.delete(object_path(kind, ns, name))
    assert r.status_code == 200, r.text
    if kind == "Namespace":
        # no namespace controller on this control plane: finalize it as that controller would
        body = r.json()
        body["spec"]["finalizers"] = []
        r = await client.put(object_path(kind, ns, name) + "/finalize", json=body)
        assert r.status_code == 200, r.text


async def test_every_kind_create_update_delete(
    control_plane: ControlPlane, k8s_namespace: str, watch_harness: Any
) -> None:
    ns = k8s_namespace
    suffix = secrets.token_hex(3)
    with trio.fail_after(120):
        async with (
            watch_harness(watch_namespace=[ns], feature_gates={"GatewayAlpha": True}) as h,
            control_plane.admin_client() as client,
        ):
            assert set(KINDS) == h.expected
            for kind, info in KINDS.items():
                name = f"{kind.lower()}-{suffix}"
                store_ns = ns if info.namespaced else ""
                await create(client, manifest(kind, ns, name))
                await h.wait_until(lambda: h.get(kind, store_ns, name) is not None)  # noqa: B023
                first = h.get(kind, store_ns, name)
                assert first.ref.kind == kind

                await patch(client, kind, ns, name, {"metadata": {"labels": {"rev": "2"}}})
                await h.wait_until(
                    lambda: h.get(kind, store_ns, name).labels.get("rev") == "2"  # noqa: B023
                )
                assert h.get(kind, store_ns, name).resource_version != first.resource_version

                await delete(client, kind, ns, name)
                await h.wait_until(lambda: h.get(kind, store_ns, name) is None)  # noqa: B023
    assert (
        h.metric("kic_trio_watch_events_total", kind="Ingress", type="DELETED", instance_id="test")
        == 1
    )


async def test_namespace_filtering(control_plane: ControlPlane, watch_harness: Any) -> None:
    watched, other = f"w-{secrets.token_hex(4)}", f"o-{secrets.token_hex(4)}"
    with trio.fail_after(90):
        async with control_plane.admin_client() as client:
            for ns in (watched, other):
                r = await client.post("/api/v1/namespaces", json={"metadata": {"name": ns}})
                assert r.status_code == 201
            async with watch_harness(watch_namespace=[watched]) as h:
                await create(client, manifest("Service", other, "outside"))
                await create(client, manifest("KongPlugin", other, "outside"))
                await create(client, manifest("Service", watched, "inside"))
                await h.wait_until(lambda: h.get("Service", watched, "inside") is not None)
                await create(client, manifest("KongPlugin", watched, "inside"))
                await h.wait_until(lambda: h.get("KongPlugin", watched, "inside") is not None)
                assert h.get("Service", other, "outside") is None
                assert h.get("KongPlugin", other, "outside") is None
                assert all(
                    d.obj.namespace in (watched, "") for d in h.deltas if isinstance(d, Upsert)
                )
            for ns in (watched, other):
                await client.delete(f"/api/v1/namespaces/{ns}")


async def test_class_filtering(
    control_plane: ControlPlane, k8s_namespace: str, watch_harness: Any
) -> None:
    ns = k8s_namespace
    with trio.fail_after(90):
        async with watch_harness(watch_namespace=[ns]) as h, control_plane.admin_client() as client:
            ours = manifest("Ingress", ns, "ours")
            other = manifest("Ingress", ns, "other")
            other["spec"]["ingressClassName"] = "nginx"
            by_annotation = manifest("Ingress", ns, "by-annotation")
            del by_annotation["spec"]["ingressClassName"]
            by_annotation["metadata"]["annotations"] = {CLASS_ANN: "nginx"}
            classless = manifest("Ingress", ns, "classless")
            del classless["spec"]["ingressClassName"]
            consumer_other = manifest("KongConsumer", ns, "consumer-other")
            consumer_other["metadata"]["annotations"] = {CLASS_ANN: "nginx"}
            consumer_ours = manifest("KongConsumer", ns, "consumer-ours")
            for body in (other, by_annotation, consumer_other, ours, classless, consumer_ours):
                await create(client, body)
            await h.wait_until(
                lambda: (
                    h.keys("Ingress", ns) == {"ours", "classless"}
                    and h.keys("KongConsumer", ns) == {"consumer-ours"}
                )
            )
            # An Ingress that moves to another class leaves the store.
            await patch(client, "Ingress", ns, "ours", {"spec": {"ingressClassName": "nginx"}})
            await h.wait_until(lambda: h.get("Ingress", ns, "ours") is None)
            # ... and comes back when it moves back.
            await patch(client, "Ingress", ns, "ours", {"spec": {"ingressClassName": "kong"}})
            await h.wait_until(lambda: h.get("Ingress", ns, "ours") is not None)
    names = {
        d.obj.name
        for d in h.deltas
        if isinstance(d, Upsert) and d.kind in ("Ingress", "KongConsumer")
    }
    assert names == {"ours", "classless", "consumer-ours"}


async def test_secrets_kept_only_when_labelled_or_referenced(
    control_plane: ControlPlane, k8s_namespace: str, watch_harness: Any
) -> None:
    ns = k8s_namespace
    with trio.fail_after(90):
        async with watch_harness(watch_namespace=[ns]) as h, control_plane.admin_client() as client:
            plain = {"metadata": {"name": "plain", "namespace": ns}, "data": {"k": "dg=="}}
            tls = {"metadata": {"name": "tls", "namespace": ns}, "data": {"k": "dg=="}}
            labelled = manifest("Secret", ns, "labelled")
            for body in (plain, tls):
                r = await client.post(f"/api/v1/namespaces/{ns}/secrets", json=body)
                assert r.status_code == 201
            await create(client, labelled)
            await h.wait_until(lambda: h.get("Secret", ns, "labelled") is not None)
            assert h.get("Secret", ns, "plain") is None
            assert h.get("Secret", ns, "tls") is None

            # Referenced later: fetched at once, then followed (update, delete, re-create).
            h.fetcher.fetch({(ns, "tls"), (ns, "not-yet")})
            await h.wait_until(lambda: h.get("Secret", ns, "tls") is not None)
            await client.patch(
                f"/api/v1/namespaces/{ns}/secrets/tls",
                json={"data": {"k": "dzI="}},
                headers={"Content-Type": "application/merge-patch+json"},
            )
            await h.wait_until(lambda: h.get("Secret", ns, "tls").data.get("k") == b"w2")
            r = await client.post(
                f"/api/v1/namespaces/{ns}/secrets",
                json={"metadata": {"name": "not-yet", "namespace": ns}, "data": {"k": "dg=="}},
            )
            assert r.status_code == 201
            await h.wait_until(lambda: h.get("Secret", ns, "not-yet") is not None)
            await client.delete(f"/api/v1/namespaces/{ns}/secrets/tls")
            await h.wait_until(lambda: h.get("Secret", ns, "tls") is None)
    assert h.get("Secret", ns, "plain") is None


async def test_malformed_object_becomes_failures_not_a_crash(
    control_plane: ControlPlane, k8s_namespace: str, watch_harness: Any
) -> None:
    ns = k8s_namespace
    with trio.fail_after(90):
        async with watch_harness(watch_namespace=[ns]) as h, control_plane.admin_client() as client:
            # config is free-form in the CRD: garbage there is the translator's problem; a
            # wrong-typed annotation is ours to survive.
            bad = manifest("KongPlugin", ns, "bad")
            bad["config"] = {"minute": "lots", "nested": [1, {"x": None}]}
            bad["metadata"]["annotations"] = {"konghq.com/tags": "a,,b"}
            await create(client, bad)
            await create(client, manifest("KongPlugin", ns, "good"))
            await h.wait_until(lambda: h.keys("KongPlugin", ns) == {"bad", "good"})


async def test_kind_without_crd_waits_for_it_and_follows_its_deletion(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    group = f"t{secrets.token_hex(4)}.kic-trio.test"
    info = KindInfo(group, "v1", "widgets", True)
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {
                "plural": "widgets",
                "singular": "widget",
                "kind": "Widget",
                "listKind": "WidgetList",
            },
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }
    send, receive = trio.open_memory_channel[Any](100)
    handler = KindHandler("Widget", send, ingress_class="kong")
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    with trio.fail_after(90):
        async with (
            open_kube_client(_Cfg(str(control_plane.kubeconfig))) as kube,
            control_plane.admin_client() as client,
            trio.open_nursery() as nursery,
        ):
            nursery.start_soon(
                lambda: run_kind(
                    kube, "Widget", info, handler, [k8s_namespace], crd_poll_interval=0.2
                )
            )
            # Not installed: reported synced (nothing to hold), no crash.
            assert await receive.receive() == Synced("Widget")
            r = await client.post(crds, json=crd)
            assert r.status_code == 201
            await wait_crds_established(client, [f"widgets.{group}"])
            r = await client.post(
                f"/apis/{group}/v1/namespaces/{k8s_namespace}/widgets",
                json={"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "w1"}},
            )
            assert r.status_code == 201
            seen = [await receive.receive(), await receive.receive()]
            assert Synced("Widget") in seen
            upserts = [d for d in seen if isinstance(d, Upsert)]
            if not upserts:
                upserts = [await receive.receive()]
            assert upserts[0].obj.name == "w1"
            # The CRD goes away: its objects are gone from the store.
            await client.delete(f"{crds}/widgets.{group}")
            while True:
                d = await receive.receive()
                if isinstance(d, Delete):
                    break
            assert (d.kind, d.namespace, d.name) == ("Widget", k8s_namespace, "w1")
            nursery.cancel_scope.cancel()


class _Cfg:
    def __init__(self, kubeconfig: str) -> None:
        self.kubeconfig = kubeconfig
        self.apiserver_host = None


async def test_401_rereads_credentials(control_plane: ControlPlane, k8s_namespace: str) -> None:
    """A rotated token: the first request is refused (401), the client re-reads and succeeds."""
    path = control_plane.token_kubeconfig(
        "not-the-right-token", control_plane.dir / f"kc-{k8s_namespace}"
    )
    with trio.fail_after(60):
        async with open_kube_client(_Cfg(str(path))) as kube:
            control_plane.token_kubeconfig(control_plane.admin_token, path)  # "rotation"
            statuses: list[int] = []

            async def get() -> None:
                r = await kube.request("GET", f"/api/v1/namespaces/{k8s_namespace}")
                assert r.json()["metadata"]["name"] == k8s_namespace
                statuses.append(r.status_code)

            async with trio.open_nursery() as nursery:
                for _ in range(5):
                    nursery.start_soon(get)
            assert statuses == [200] * 5
            # five refused requests, one re-read of the credentials
            assert kube.generation == 1
            # The watch path too: rotate to a wrong token and back.
            control_plane.token_kubeconfig("wrong-again", path)
            await kube.reauthenticate()
            control_plane.token_kubeconfig(control_plane.admin_token, path)
            async with kube.stream(
                "GET",
                f"/api/v1/namespaces/{k8s_namespace}/services",
                params={"watch": "true", "timeoutSeconds": "1"},
            ) as resp:
                assert resp.status_code == 200


async def test_referenced_secrets_are_in_the_first_sync(
    control_plane: ControlPlane, k8s_namespace: str, watch_harness: Any
) -> None:
    """TLS Secrets referenced by Ingresses are held when the watchers report synced (no GET
    needed); a reference added later brings its Secret in too; unreferenced ones stay out."""
    ns = k8s_namespace
    with trio.fail_after(90):
        async with control_plane.admin_client() as client:
            for name in ("early-tls", "late-tls", "unreferenced"):
                r = await client.post(
                    f"/api/v1/namespaces/{ns}/secrets",
                    json={"metadata": {"name": name}, "type": "Opaque", "data": {"k": "dg=="}},
                )
                assert r.status_code == 201
            early = manifest("Ingress", ns, "early")
            early["spec"]["tls"] = [{"hosts": ["early.example.com"], "secretName": "early-tls"}]
            await create(client, early)
            async with watch_harness(watch_namespace=[ns]) as h:
                # synced: the Secret is already there
                assert h.get("Secret", ns, "early-tls") is not None
                late = manifest("Ingress", ns, "late")
                late["spec"]["tls"] = [{"hosts": ["late.example.com"], "secretName": "late-tls"}]
                await create(client, late)
                await h.wait_until(lambda: h.get("Secret", ns, "late-tls") is not None)
                assert h.get("Secret", ns, "unreferenced") is None


async def test_paged_list(
    control_plane: ControlPlane, k8s_namespace: str, watch_harness: Any
) -> None:
    ns = k8s_namespace
    with trio.fail_after(90):
        async with control_plane.admin_client() as client:
            for i in range(8):
                await create(client, manifest("Service", ns, f"s{i}"))
        async with watch_harness(watch_namespace=[ns], reflector_options={"page_size": 3}) as h:
            assert h.keys("Service", ns) == {f"s{i}" for i in range(8)}


async def test_bookmarks_move_the_resource_version(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    """A quiet watch still advances its resourceVersion: kube-apiserver sends a BOOKMARK
    before it ends the watch, so the next watch resumes from a recent version."""
    events: list[Any] = []
    listed_event = trio.Event()

    class Sink:
        async def upsert(self, raw: dict[str, Any]) -> None:
            events.append(raw)

        async def delete(self, namespace: str, name: str) -> None:
            events.append((namespace, name))

        async def synced(self, source: object) -> None:
            listed_event.set()

    with trio.fail_after(120):
        async with (
            open_kube_client(_Cfg(str(control_plane.kubeconfig))) as kube,
            control_plane.admin_client() as client,
            trio.open_nursery() as nursery,
        ):
            r = Reflector(
                kube,
                "Service",
                KINDS["Service"],
                Sink(),
                namespace=k8s_namespace,
                min_watch_timeout=5,
            )
            nursery.start_soon(r.run)
            await listed_event.wait()
            assert r.resource_version is not None
            listed = int(r.resource_version)
            # A Service in another namespace moves the Services' resourceVersion, not this
            # watch's objects.
            r2 = await client.post(
                "/api/v1/namespaces/default/services",
                json={"metadata": {"generateName": "bump-"}, "spec": {"ports": [{"port": 80}]}},
            )
            assert r2.status_code == 201
            bumped = int(r2.json()["metadata"]["resourceVersion"])
            # the reflector's resourceVersion is plain state with no event: poll it
            await eventually(lambda: int(r.resource_version) >= bumped, interval=0.2)
            nursery.cancel_scope.cancel()
    assert bumped > listed
    assert events == []
    assert r.lists == 1


async def test_token_refresh_keeps_open_watches(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    """Re-reading a token updates it in place: a watch streaming meanwhile is not cut off."""
    path = control_plane.token_kubeconfig(
        control_plane.admin_token, control_plane.dir / f"kc2-{k8s_namespace}"
    )
    with trio.fail_after(60):
        async with (
            open_kube_client(_Cfg(str(path))) as kube,
            control_plane.admin_client() as client,
            kube.stream(
                "GET",
                f"/api/v1/namespaces/{k8s_namespace}/services",
                params={"watch": "true", "timeoutSeconds": "30"},
            ) as resp,
        ):
            # watches run on TCP keepalive sockets (a vanished peer is noticed by the kernel)
            sock = resp.extensions["network_stream"].get_extra_info("socket")
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
            lines = resp.aiter_lines()
            await kube.reauthenticate()
            assert kube.generation == 1
            await create(client, manifest("Service", k8s_namespace, "after-refresh"))
            with trio.CancelScope() as scope:  # stop reading by cancelling: no dangling generators
                async for line in lines:
                    event = json.loads(line)
                    assert event["type"] == "ADDED"
                    assert event["object"]["metadata"]["name"] == "after-refresh"
                    scope.cancel()
            assert scope.cancelled_caught


def _deployed_cluster_role() -> dict[str, Any]:
    rbac = Path(__file__).resolve().parents[2] / "deploy" / "rbac.yaml"
    docs = [d for d in yaml.safe_load_all(rbac.read_text()) if d]
    role: dict[str, Any] = next(d for d in docs if d["kind"] == "ClusterRole")
    return role


async def test_watchers_need_no_more_than_the_deployed_cluster_role(
    control_plane: ControlPlane, k8s_namespace: str, watch_harness: Any
) -> None:
    """Run the watchers as a user bound only to deploy/rbac.yaml's ClusterRole: every kind
    lists and watches (a missing verb would leave a kind unsynced and fail this test)."""
    role = _deployed_cluster_role()
    user = f"rbac-{secrets.token_hex(4)}"
    role["metadata"] = {"name": user}
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": user},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": user},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
    }
    kubeconfig = control_plane.add_user(user)
    ns = k8s_namespace
    with trio.fail_after(90):
        async with control_plane.admin_client() as client:
            for path, body in (
                ("/apis/rbac.authorization.k8s.io/v1/clusterroles", role),
                ("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", binding),
            ):
                r = await client.post(path, json=body)
                assert r.status_code == 201, r.text
            r = await client.post(
                f"/api/v1/namespaces/{ns}/secrets",
                json={"metadata": {"name": "referenced"}, "data": {"k": "dg=="}},
            )
            assert r.status_code == 201
            async with watch_harness(kubeconfig=str(kubeconfig)) as h:
                assert h.expected <= h.synced
                ing = manifest("Ingress", ns, "rbac")
                ing["spec"]["tls"] = [{"hosts": ["rbac.example.com"], "secretName": "referenced"}]
                await create(client, ing)
                await h.wait_until(lambda: h.get("Secret", ns, "referenced") is not None)
