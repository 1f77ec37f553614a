"""Ingress status against a real kube-apiserver: written with the publish address, never rewritten
when unchanged, following the publish Service, and only by the leader."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing
from counting_kube import Kube, kube_client

import kic_trio
from _eventually import eventually
from kic_trio._latest import LatestValue
from kic_trio._lifecycle import ConfigApplied, LifecycleBus
from kic_trio._payload import ConfigPayload
from kic_trio.k8s import open_kube_client
from kic_trio.k8s._leader import LeaderState
from kic_trio.k8s._status import StatusUpdater
from kic_trio.models import ObjectRef
from kic_trio.testing.controlplane import ControlPlane

ING = "/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses"


async def create_ingresses(
    kube: Kube, namespace: str, n: int, start: int = 0
) -> frozenset[ObjectRef]:
    refs = set()
    for i in range(start, start + n):
        body = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": f"ing-{i}", "namespace": namespace},
            "spec": {
                "ingressClassName": "kong",
                "defaultBackend": {"service": {"name": "s", "port": {"number": 80}}},
            },
        }
        resp = await kube.request("POST", ING.format(ns=namespace), json=body)
        uid = resp.json()["metadata"]["uid"]
        refs.add(ObjectRef("Ingress", namespace, f"ing-{i}", uid, "networking.k8s.io", "v1"))
    return frozenset(refs)


async def status_of(kube: Kube, namespace: str, name: str) -> list[dict[str, Any]]:
    resp = await kube.request("GET", f"{ING.format(ns=namespace)}/{name}")
    lb: list[dict[str, Any]] = (
        resp.json().get("status", {}).get("loadBalancer", {}).get("ingress", [])
    )
    return lb


def config(**kwargs: Any) -> kic_trio.Config:
    return kic_trio.Config(kong_admin_url=["http://127.0.0.1:8001"], **kwargs)


async def test_status_carries_the_publish_address_and_is_not_rewritten(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    with trio.fail_after(30):
        async with kube_client(control_plane) as kube, trio.open_nursery() as nursery:
            refs = await create_ingresses(kube, k8s_namespace, 5)
            cfg = config(publish_status_address=["10.1.2.3", "kong.example.com"])
            updater = StatusUpdater(cfg, kube)
            await nursery.start(updater.run)
            # a Service in the configured set is not an Ingress: no status for it
            updater.submit(refs | {ObjectRef("Service", k8s_namespace, "s")})
            await updater.wait_idle()
            for ref in refs:
                assert await status_of(kube, k8s_namespace, ref.name) == [
                    {"ip": "10.1.2.3"},
                    {"hostname": "kong.example.com"},
                ]
            assert kube.count("PATCH", "/status") == 5

            # later pushes with the same Ingresses: nothing to write
            for _ in range(10):
                updater.submit(refs)
                await updater.wait_idle()
            assert kube.count("PATCH", "/status") == 5

            # one new Ingress: one more write
            more = await create_ingresses(kube, k8s_namespace, 1, start=5)
            updater.submit(refs | more)
            await updater.wait_idle()
            assert kube.count("PATCH", "/status") == 6
            assert updater.failures == 0
            nursery.cancel_scope.cancel()


async def test_a_new_term_reads_current_status_instead_of_rewriting(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    with trio.fail_after(30):
        async with kube_client(control_plane) as kube:
            refs = await create_ingresses(kube, k8s_namespace, 4)
            cfg = config(publish_status_address=["10.9.9.9"])
            async with trio.open_nursery() as nursery:
                first = StatusUpdater(cfg, kube)
                await nursery.start(first.run)
                first.submit(refs)
                await first.wait_idle()
                nursery.cancel_scope.cancel()
            assert kube.count("PATCH", "/status") == 4
            # a restarted controller (or a new leader) finds the status already right
            async with trio.open_nursery() as nursery:
                second = StatusUpdater(cfg, kube, seed_threshold=0)
                await nursery.start(second.run)
                second.submit(refs)
                await second.wait_idle()
                nursery.cancel_scope.cancel()
            assert kube.count("PATCH", "/status") == 4
            assert second.lists == 1


async def test_publish_service_addresses_follow_the_service(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    with trio.fail_after(30):
        async with kube_client(control_plane) as kube, trio.open_nursery() as nursery:
            svc = {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "kong-proxy", "namespace": k8s_namespace},
                "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
            }
            resp = await kube.request(
                "POST", f"/api/v1/namespaces/{k8s_namespace}/services", json=svc
            )
            cluster_ip = resp.json()["spec"]["clusterIP"]
            refs = await create_ingresses(kube, k8s_namespace, 2)
            updater = StatusUpdater(
                config(publish_service=f"{k8s_namespace}/kong-proxy"), kube, refresh_period=0.2
            )
            await nursery.start(updater.run)
            updater.submit(refs)
            await updater.wait_idle()
            # no load balancer yet: the cluster IP
            assert await status_of(kube, k8s_namespace, "ing-0") == [{"ip": cluster_ip}]

            # the cloud provisions the load balancer
            await kube.request(
                "PATCH",
                f"/api/v1/namespaces/{k8s_namespace}/services/kong-proxy/status",
                json={
                    "status": {
                        "loadBalancer": {
                            "ingress": [{"ip": "203.0.113.10"}, {"hostname": "lb.example.net"}]
                        }
                    }
                },
                headers={"Content-Type": "application/merge-patch+json"},
            )
            want = [{"ip": "203.0.113.10"}, {"hostname": "lb.example.net"}]

            async def ing_1_updated() -> bool:  # picked up on the next refresh (0.2 s here)
                return await status_of(kube, k8s_namespace, "ing-1") == want

            await eventually(ing_1_updated, interval=0.1)
            assert await status_of(kube, k8s_namespace, "ing-1") == want
            assert await status_of(kube, k8s_namespace, "ing-0") == want
            assert (
                kube.count("PATCH", "/status") == 2 + 2 + 1
            )  # two per address set, plus the Service
            nursery.cancel_scope.cancel()


async def test_only_the_leader_writes(control_plane: ControlPlane, k8s_namespace: str) -> None:
    with trio.fail_after(30):
        async with kube_client(control_plane) as kube, trio.open_nursery() as nursery:
            refs = await create_ingresses(kube, k8s_namespace, 3)
            leader = LeaderState()
            updater = StatusUpdater(
                config(publish_status_address=["10.0.0.7"]), kube, leader=leader
            )
            await nursery.start(updater.run)
            updater.submit(refs)
            # every task blocked: the updater got the work and is waiting (to lead), not writing
            await trio.testing.wait_all_tasks_blocked(cushion=0.1)
            assert kube.count("PATCH") == 0
            assert await status_of(kube, k8s_namespace, "ing-0") == []
            leader.set(True)
            await updater.wait_idle()
            assert kube.count("PATCH", "/status") == 3
            assert await status_of(kube, k8s_namespace, "ing-2") == [{"ip": "10.0.0.7"}]
            nursery.cancel_scope.cancel()


async def test_recreated_ingress_is_not_given_the_old_ones_status(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    with trio.fail_after(30):
        async with kube_client(control_plane) as kube, trio.open_nursery() as nursery:
            [old] = await create_ingresses(kube, k8s_namespace, 1)
            await kube.request("DELETE", f"{ING.format(ns=k8s_namespace)}/{old.name}")
            [new] = await create_ingresses(kube, k8s_namespace, 1)
            updater = StatusUpdater(config(publish_status_address=["10.0.0.8"]), kube)
            await nursery.start(updater.run)
            updater.submit({old})  # a stale configured set naming the deleted object's uid
            await updater.wait_idle()
            assert await status_of(kube, k8s_namespace, new.name) == []
            assert updater.failures == 0
            updater.submit({new})
            await updater.wait_idle()
            assert await status_of(kube, k8s_namespace, new.name) == [{"ip": "10.0.0.8"}]
            nursery.cancel_scope.cancel()


async def test_status_follows_applied_configurations(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    with trio.fail_after(30):
        async with kube_client(control_plane) as kube, trio.open_nursery() as nursery:
            refs = await create_ingresses(kube, k8s_namespace, 2)
            bus = LifecycleBus()
            latest: LatestValue[ConfigPayload] = LatestValue()
            updater = StatusUpdater(config(publish_status_address=["10.0.0.9"]), kube)
            await nursery.start(updater.run)
            await nursery.start(updater.follow_pushes, bus, latest)
            latest.put(ConfigPayload(b"{}", "sha-1", configured=refs))
            bus.emit(
                ConfigApplied("http://kong:8001", "sha-0", 0.01, 2)
            )  # an older config: ignored
            await trio.testing.wait_all_tasks_blocked()
            assert kube.count("PATCH") == 0
            bus.emit(ConfigApplied("http://kong:8001", "sha-1", 0.01, 2))
            await trio.testing.wait_all_tasks_blocked()
            await updater.wait_idle()
            assert kube.count("PATCH", "/status") == 2
            assert await status_of(kube, k8s_namespace, "ing-1") == [{"ip": "10.0.0.9"}]
            nursery.cancel_scope.cancel()


async def test_failed_writes_are_retried_without_a_new_push(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    """A write refused (here: RBAC does not allow it yet) is retried on its own."""
    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{k8s_namespace}"
    with trio.fail_after(30):
        async with kube_client(control_plane) as admin:
            refs = await create_ingresses(admin, k8s_namespace, 2)
            user_kubeconfig = control_plane.add_user(f"status-{k8s_namespace}")
            for name, rules in {
                "read": [
                    {
                        "apiGroups": ["networking.k8s.io"],
                        "resources": ["ingresses"],
                        "verbs": ["get", "list"],
                    }
                ],
                "write": [
                    {
                        "apiGroups": ["networking.k8s.io"],
                        "resources": ["ingresses/status"],
                        "verbs": ["patch"],
                    }
                ],
            }.items():
                await admin.request(
                    "POST", f"{rbac}/roles", json={"metadata": {"name": name}, "rules": rules}
                )

            async def bind(role: str) -> None:
                await admin.request(
                    "POST",
                    f"{rbac}/rolebindings",
                    json={
                        "metadata": {"name": role},
                        "roleRef": {
                            "apiGroup": "rbac.authorization.k8s.io",
                            "kind": "Role",
                            "name": role,
                        },
                        "subjects": [{"kind": "User", "name": f"status-{k8s_namespace}"}],
                    },
                )

            await bind("read")
            cfg = kic_trio.Config(
                kong_admin_url=["http://127.0.0.1:8001"],
                kubeconfig=str(user_kubeconfig),
                publish_status_address=["10.0.0.11"],
            )
            async with open_kube_client(cfg) as user, trio.open_nursery() as nursery:
                updater = StatusUpdater(cfg, user, refresh_period=0.2)
                await nursery.start(updater.run)
                updater.submit(refs)
                await updater.wait_idle()
                assert updater.failures == 2  # 403: may not patch status yet
                assert await status_of(admin, k8s_namespace, "ing-0") == []
                await bind("write")
                # retried every refresh period; no new submit
                await eventually(lambda: updater.patches == 2, interval=0.1)
                assert await status_of(admin, k8s_namespace, "ing-0") == [{"ip": "10.0.0.11"}]
                assert await status_of(admin, k8s_namespace, "ing-1") == [{"ip": "10.0.0.11"}]
                nursery.cancel_scope.cancel()
