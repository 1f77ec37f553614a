"""The whole controller (``run()``) and Events: a broken Ingress gets one Warning Event whose
count follows the syncs that report it, instead of one Event object per sync."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio

import kic_trio
from _eventually import eventually
from k8s_objects import app, hosts_in
from kic_trio.testing import FakeKong, apply
from kic_trio.testing.controlplane import ControlPlane


def ingress(name: str, host: str, annotations: dict[str, str] | None = None) -> list[dict[str, Any]]:
    return app(name, host, endpoints=False, annotations=annotations)


async def test_bad_ingress_gets_one_warning_event_across_syncs(
    control_plane: ControlPlane, kubeconfig: Path, k8s_namespace: str
) -> None:
    with trio.fail_after(90):
        async with FakeKong() as kong, control_plane.admin_client() as client:
            await apply(
                client,
                ingress("bad", "bad.example.com", {"konghq.com/plugins": "no-such-plugin"}),
                namespace=k8s_namespace,
            )
            bad_uid = (
                await client.get(
                    f"/apis/networking.k8s.io/v1/namespaces/{k8s_namespace}/ingresses/bad"
                )
            ).json()["metadata"]["uid"]
            cfg = kic_trio.Config(
                kubeconfig=str(kubeconfig),
                kong_admin_url=[kong.url],
                watch_namespace=[k8s_namespace],
                pod_namespace=k8s_namespace,
                pod_name="kic-0",
                health_probe_bind_address="127.0.0.1:0",
                metrics_bind_address="127.0.0.1:0",
                proxy_sync_seconds=0.2,
            )
            reported = 0  # translations that reported the bad Ingress

            async def count_reports(controller: kic_trio.Controller, task_status: Any) -> None:
                nonlocal reported
                async with controller.subscribe() as events:
                    task_status.started()
                    async for event in events:
                        if isinstance(event, kic_trio.TranslationDone) and any(
                            f.obj.name == "bad" and f.obj.namespace == k8s_namespace
                            for f in event.failures
                        ):
                            reported += 1

            async def events_about_bad() -> list[dict[str, Any]]:
                resp = await client.get(
                    f"/api/v1/namespaces/{k8s_namespace}/events",
                    params={"fieldSelector": f"involvedObject.uid={bad_uid}"},
                )
                items: list[dict[str, Any]] = resp.json()["items"]
                return items

            async with trio.open_nursery() as nursery:
                controller: kic_trio.Controller = await nursery.start(kic_trio.run, cfg)
                await nursery.start(count_reports, controller)
                await controller.wait_ready()
                # ten more syncs: each changes another Ingress and reaches Kong
                for i in range(10):
                    await apply(
                        client, ingress("good", f"good-{i}.example.com"), namespace=k8s_namespace
                    )
                    await kong.wait_for(
                        lambda k, i=i: f"good-{i}.example.com" in hosts_in(k.config)
                    )
                assert reported >= 1
                async def both_counted() -> list[dict[str, Any]]:
                    events = await events_about_bad()
                    done = len(events) == 2 and all(e["count"] >= reported for e in events)
                    return events if done else []

                # the recorder writes in the background
                events = await eventually(both_counted, interval=0.1)
                # two failures on the Ingress (the missing plugin, and its route left out
                # because of it: fail closed), each ONE Event whose count follows the syncs
                assert len(events) == 2, events
                for event in events:
                    assert (event["type"], event["reason"]) == (
                        "Warning",
                        "KongConfigurationTranslationFailed",
                    )
                    assert "no-such-plugin" in event["message"]
                    assert event["count"] == reported
                messages = " | ".join(sorted(e["message"] for e in events))
                assert "does not exist" in messages and "not served" in messages
                nursery.cancel_scope.cancel()
