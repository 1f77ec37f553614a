"""Kubernetes Events against a real kube-apiserver: one Event per problem, its count goes up."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing
from counting_kube import Kube, kube_client

from kic_trio._lifecycle import LeadershipGained, LifecycleBus, TranslationDone
from kic_trio.k8s._events import EventRecorder
from kic_trio.k8s._leader import LeaderState
from kic_trio.models import Failure, ObjectRef
from kic_trio.testing.controlplane import ControlPlane


async def create_ingress(kube: Kube, namespace: str, name: str) -> ObjectRef:
    body = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "ingressClassName": "kong",
            "defaultBackend": {"service": {"name": "svc", "port": {"number": 80}}},
        },
    }
    resp = await kube.request(
        "POST", f"/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses", json=body
    )
    uid = resp.json()["metadata"]["uid"]
    return ObjectRef("Ingress", namespace, name, uid, "networking.k8s.io", "v1")


async def events_about(kube: Kube, namespace: str, uid: str) -> list[dict[str, Any]]:
    resp = await kube.request(
        "GET",
        f"/api/v1/namespaces/{namespace}/events",
        params={"fieldSelector": f"involvedObject.uid={uid}"},
    )
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


async def test_repeated_warning_updates_one_event(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    with trio.fail_after(30):
        async with kube_client(control_plane) as kube, trio.open_nursery() as nursery:
            ref = await create_ingress(kube, k8s_namespace, "broken")
            recorder = EventRecorder(kube, instance="kic-0_test", host="kic-0", instance_id="test")
            await nursery.start(recorder.run)

            message = "spec.rules[0].http.paths[0].path: invalid regex"
            recorder.emit(ref, "Warning", "KongConfigurationTranslationFailed", message)
            await recorder.wait_idle()
            [event] = await events_about(kube, k8s_namespace, ref.uid)
            assert event["type"] == "Warning"
            assert event["reason"] == "KongConfigurationTranslationFailed"
            assert event["message"] == message
            assert event["count"] == 1
            assert event["involvedObject"]["kind"] == "Ingress"
            assert event["involvedObject"]["name"] == "broken"
            assert event["source"]["component"] == "kic-trio"
            assert event["metadata"]["annotations"] == {"konghq.com/instance-id": "test"}

            # ten more syncs report the same problem
            for _ in range(10):
                recorder.emit(ref, "Warning", "KongConfigurationTranslationFailed", message)
                await recorder.wait_idle()
            events = await events_about(kube, k8s_namespace, ref.uid)
            assert len(events) == 1
            assert events[0]["metadata"]["name"] == event["metadata"]["name"]
            assert events[0]["count"] == 11
            assert (recorder.created, recorder.patched, recorder.failed) == (1, 10, 0)
            posts = [c for c in kube.calls if c[0] == "POST" and c[1].endswith("/events")]
            assert len(posts) == 1

            # a different problem on the same object is a separate Event
            recorder.emit(ref, "Warning", "KongConfigurationApplyFailed", "invalid methods: bad")
            await recorder.wait_idle()
            assert len(await events_about(kube, k8s_namespace, ref.uid)) == 2
            nursery.cancel_scope.cancel()


async def test_an_expired_event_is_recreated_with_its_count(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    with trio.fail_after(30):
        async with kube_client(control_plane) as kube, trio.open_nursery() as nursery:
            ref = await create_ingress(kube, k8s_namespace, "flaky")
            recorder = EventRecorder(kube)
            await nursery.start(recorder.run)
            for _ in range(3):
                recorder.emit(ref, "Warning", "KongConfigurationApplyFailed", "invalid paths: bad")
                await recorder.wait_idle()
            [event] = await events_about(kube, k8s_namespace, ref.uid)
            # the API server drops Events after their TTL (1 h); simulate it
            await kube.request(
                "DELETE", f"/api/v1/namespaces/{k8s_namespace}/events/{event['metadata']['name']}"
            )
            recorder.emit(ref, "Warning", "KongConfigurationApplyFailed", "invalid paths: bad")
            await recorder.wait_idle()
            [again] = await events_about(kube, k8s_namespace, ref.uid)
            assert again["count"] == 4
            assert recorder.failed == 0
            nursery.cancel_scope.cancel()


async def test_burst_of_emits_is_coalesced_and_spam_filtered(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    with trio.fail_after(30):
        async with kube_client(control_plane) as kube, trio.open_nursery() as nursery:
            ref = await create_ingress(kube, k8s_namespace, "noisy")
            recorder = EventRecorder(kube, per_object_burst=3)
            await nursery.start(recorder.run)
            # 1000 emits in one go (one sync loop): coalesced into a single write
            for _ in range(1000):
                recorder.emit(ref, "Warning", "R", "same problem")
            await recorder.wait_idle()
            [event] = await events_about(kube, k8s_namespace, ref.uid)
            assert event["count"] == 1000
            # 50 distinct problems on one object: the per-object spam filter lets 2 more through
            for i in range(50):
                recorder.emit(ref, "Warning", "R", f"problem {i}")
            await recorder.wait_idle()
            assert len(await events_about(kube, k8s_namespace, ref.uid)) == 3
            assert recorder.throttled == 48
            nursery.cancel_scope.cancel()


async def test_events_on_cluster_scoped_objects_and_pods(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    with trio.fail_after(30):
        async with kube_client(control_plane) as kube, trio.open_nursery() as nursery:
            recorder = EventRecorder(kube)
            await nursery.start(recorder.run)
            plugin = ObjectRef(
                "KongClusterPlugin",
                "",
                f"auth-{k8s_namespace}",
                "",
                "configuration.konghq.com",
                "v1",
            )
            pod = ObjectRef("Pod", k8s_namespace, "kic-0", "", "", "v1")
            recorder.emit(
                plugin, "Warning", "KongConfigurationTranslationFailed", "plugin config invalid"
            )
            recorder.emit(
                pod,
                "Normal",
                "KongConfigurationSucceeded",
                "successfully applied Kong configuration to http://127.0.0.1:8001",
            )
            await recorder.wait_idle()
            assert (recorder.created, recorder.failed) == (2, 0)
            resp = await kube.request(
                "GET",
                "/api/v1/namespaces/default/events",
                params={"fieldSelector": f"involvedObject.name=auth-{k8s_namespace}"},
            )
            assert [e["involvedObject"]["kind"] for e in resp.json()["items"]] == [
                "KongClusterPlugin"
            ]
            resp = await kube.request(
                "GET",
                f"/api/v1/namespaces/{k8s_namespace}/events",
                params={"fieldSelector": "involvedObject.kind=Pod"},
            )
            assert [e["reason"] for e in resp.json()["items"]] == ["KongConfigurationSucceeded"]
            nursery.cancel_scope.cancel()


async def test_a_new_leader_reports_the_problems_it_saw_as_a_follower(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    with trio.fail_after(30):
        async with kube_client(control_plane) as kube, trio.open_nursery() as nursery:
            ref = await create_ingress(kube, k8s_namespace, "seen-by-follower")
            bus = LifecycleBus()
            leader = LeaderState()
            recorder = EventRecorder(kube, leader=leader, bus=bus)
            await nursery.start(recorder.run)
            failure = Failure(ref, "spec.rules[0].host", "invalid host")
            # as a follower: translated, reported nothing
            bus.emit(TranslationDone(config_hash="sha", failures=(failure,), duration=0.01))
            recorder.emit(ref, "Warning", "KongConfigurationTranslationFailed", failure.reason)
            await trio.testing.wait_all_tasks_blocked()
            await recorder.wait_idle()
            assert await events_about(kube, k8s_namespace, ref.uid) == []
            # leadership changes hands: the problem is reported without a new translation
            leader.set(True)
            bus.emit(LeadershipGained())
            await trio.testing.wait_all_tasks_blocked()
            await recorder.wait_idle()
            [event] = await events_about(kube, k8s_namespace, ref.uid)
            assert (event["reason"], event["message"]) == (
                "KongConfigurationTranslationFailed",
                "spec.rules[0].host: invalid host",
            )
            nursery.cancel_scope.cancel()
