"""KongIngress (deprecated) on the real API server: create, update, delete -> Kong config in
FakeKong, and upstream's deprecation warning as a Warning Event on the KongIngress."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio

import kic_trio
from _eventually import eventually
from k8s_objects import endpoint_slice, ingress, service
from kic_trio.testing import FakeKong, apply, delete
from kic_trio.testing.controlplane import ControlPlane


def _kong_ingress(algorithm: str) -> dict[str, Any]:
    return {
        "apiVersion": "configuration.konghq.com/v1",
        "kind": "KongIngress",
        "metadata": {"name": "lb"},
        "upstream": {"algorithm": algorithm, "slots": 100},
    }


def _algorithm(config: dict[str, Any], name: str) -> str | None:
    for up in config.get("upstreams", []):
        if up.get("name") == name:
            return str(up.get("algorithm"))
    return None


async def test_kong_ingress_create_update_delete_reach_kong(
    control_plane: ControlPlane, kubeconfig: Path, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    upstream = f"backend.{ns}.80.svc"
    svc = service("backend")
    svc["metadata"]["annotations"] = {"konghq.com/override": "lb"}
    with trio.fail_after(90):
        async with FakeKong() as kong, control_plane.admin_client() as client:
            stored = await apply(
                client,
                [svc, endpoint_slice("backend"), _kong_ingress("least-connections"),
                 ingress("front", "ki.example.com", backend="backend")],
                namespace=ns,
            )  # fmt: skip
            ki_uid = next(o for o in stored if o["kind"] == "KongIngress")["metadata"]["uid"]
            cfg = kic_trio.Config(
                kubeconfig=str(kubeconfig),
                kong_admin_url=[kong.url],
                watch_namespace=[ns],
                pod_namespace=ns,
                pod_name="kic-0",
                health_probe_bind_address="127.0.0.1:0",
                metrics_bind_address="127.0.0.1:0",
                proxy_sync_seconds=0.2,
                kong_admin_init_retries=5,
                kong_admin_init_retry_delay=0.2,
            )

            async def deprecation_events() -> list[dict[str, Any]]:
                resp = await client.get(
                    f"/api/v1/namespaces/{ns}/events",
                    params={"fieldSelector": f"involvedObject.uid={ki_uid}"},
                )
                items = [
                    e for e in resp.json()["items"] if "'upstream' is DEPRECATED" in e["message"]
                ]
                return items

            async with trio.open_nursery() as nursery:
                controller: kic_trio.Controller = await nursery.start(kic_trio.run, cfg)
                await controller.wait_ready()
                # create: the KongIngress's upstream section reaches Kong, with the warning
                await kong.wait_for(lambda k: _algorithm(k.config, upstream) == "least-connections")
                events = await eventually(deprecation_events, interval=0.1)
                assert events[0]["type"] == "Warning"
                assert "KongUpstreamPolicy" in events[0]["message"]
                # update
                await apply(client, [_kong_ingress("consistent-hashing")], namespace=ns)
                await kong.wait_for(
                    lambda k: _algorithm(k.config, upstream) == "consistent-hashing"
                )
                # delete: the upstream goes back to the default, the Service is still served
                await delete(client, "KongIngress", "lb", ns)
                await kong.wait_for(lambda k: _algorithm(k.config, upstream) == "round-robin")
                nursery.cancel_scope.cancel()
