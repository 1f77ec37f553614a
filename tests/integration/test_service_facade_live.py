"""KongServiceFacade on the real API server: create, update, delete -> Kong config in FakeKong.

The controller runs with the ``KongServiceFacade`` feature gate on (upstream's default is off);
the facade's CRD comes from the pinned control-plane assets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio

import kic_trio
from k8s_objects import endpoint_slice, service
from kic_trio.testing import FakeKong, apply, delete
from kic_trio.testing.controlplane import ControlPlane

GROUP = "incubator.ingress-controller.konghq.com"


def _facade(name: str, port: int, path: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/v1alpha1",
        "kind": "KongServiceFacade",
        "metadata": {
            "name": name,
            "annotations": {"kubernetes.io/ingress.class": "kong", "konghq.com/path": path},
        },
        "spec": {"backendRef": {"name": "backend", "port": port}},
    }


def _ingress(facade: str) -> dict[str, Any]:
    backend = {"resource": {"apiGroup": GROUP, "kind": "KongServiceFacade", "name": facade}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "front"},
        "spec": {
            "ingressClassName": "kong",
            "rules": [
                {
                    "host": "facade.example.com",
                    "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]},
                }
            ],
        },
    }


def _facade_service(config: dict[str, Any], name: str) -> dict[str, Any] | None:
    for svc in config.get("services", []):
        if svc.get("name") == name:
            return dict(svc)
    return None


async def test_facade_create_update_delete_reach_kong(
    control_plane: ControlPlane, kubeconfig: Path, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    kong_name = f"{ns}.shop.svc.facade"
    with trio.fail_after(90):
        async with FakeKong() as kong, control_plane.admin_client() as client:
            await apply(
                client,
                [
                    service("backend"),
                    endpoint_slice("backend"),
                    _facade("shop", 80, "/v1"),
                    _ingress("shop"),
                ],
                namespace=ns,
            )
            cfg = kic_trio.Config(
                kubeconfig=str(kubeconfig),
                kong_admin_url=[kong.url],
                watch_namespace=[ns],
                health_probe_bind_address="127.0.0.1:0",
                metrics_bind_address="127.0.0.1:0",
                proxy_sync_seconds=0.2,
                kong_admin_init_retries=5,
                kong_admin_init_retry_delay=0.2,
                feature_gates={"KongServiceFacade": True},
            )
            async with trio.open_nursery() as nursery:
                controller: kic_trio.Controller = await nursery.start(kic_trio.run, cfg)
                await controller.wait_ready()

                # create: the facade's own Kong service, with the facade's annotation and tags
                def created(k: FakeKong) -> bool:
                    svc = _facade_service(k.config, kong_name)
                    return svc is not None and svc.get("path") == "/v1"

                await kong.wait_for(created)
                svc = _facade_service(kong.config, kong_name)
                assert svc is not None and f"k8s-namespace:{ns}" in svc["tags"]
                assert "k8s-kind:KongServiceFacade" in svc["tags"]
                assert [r["name"] for r in svc["routes"]] == [
                    f"{ns}.front.facade.example.com.shop.svc.facade"
                ]

                # update: the facade's annotation changes what Kong gets
                await apply(client, [_facade("shop", 80, "/v2")], namespace=ns)
                await kong.wait_for(
                    lambda k: (_facade_service(k.config, kong_name) or {}).get("path") == "/v2"
                )

                # delete: the Kong service goes; the Ingress now fails (its backend is gone)
                await delete(client, "KongServiceFacade", "shop", ns)
                await kong.wait_for(lambda k: _facade_service(k.config, kong_name) is None)
                nursery.cancel_scope.cancel()
