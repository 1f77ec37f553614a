"""HTTPRoute live: a real kube-apiserver with the pinned Gateway API CRDs, the whole controller,
FakeKong validating what is pushed as Kong does.

A GatewayClass + Gateway + HTTPRoute becomes Kong routes; the HTTPRoute carries upstream's parent
conditions; a backend in another namespace is served only while a ReferenceGrant allows it.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import httpx
import trio

import kic_trio
from _eventually import eventually
from _live_controller import live_config, running
from k8s_objects import endpoint_slice, service
from kic_trio.testing import FakeKong, apply, delete
from kic_trio.testing._apply import object_path
from kic_trio.testing.controlplane import ControlPlane

GW = "gateway.networking.k8s.io"
CONTROLLER = "konghq.com/kic-gateway-controller"


def _config(kubeconfig: Path, urls: list[str], namespaces: list[str]) -> kic_trio.Config:
    return live_config(
        kubeconfig,
        urls,
        namespaces[0],
        watch_namespace=namespaces,
        publish_service=f"{namespaces[0]}/kong-proxy",
    )


def _gateway_class(name: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GW}/v1",
        "kind": "GatewayClass",
        "metadata": {"name": name, "annotations": {"konghq.com/gatewayclass-unmanaged": "true"}},
        "spec": {"controllerName": CONTROLLER},
    }


def _gateway(class_name: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GW}/v1",
        "kind": "Gateway",
        "metadata": {"name": "kong"},
        "spec": {
            "gatewayClassName": class_name,
            "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}],
        },
    }


def _proxy_service() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "kong-proxy"},
        "spec": {"ports": [{"name": "proxy", "port": 80, "protocol": "TCP", "targetPort": 8000}]},
    }


def _route(backend_ns: str | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": "echo", "kind": "Service", "port": 80}
    if backend_ns:
        ref["namespace"] = backend_ns
    return {
        "apiVersion": f"{GW}/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "web"},
        "spec": {
            "parentRefs": [{"name": "kong"}],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/echo"}}],
                    "backendRefs": [ref],
                }
            ],
        },
    }


def _grant(route_ns: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GW}/v1beta1",
        "kind": "ReferenceGrant",
        "metadata": {"name": "allow-web"},
        "spec": {
            "from": [{"group": GW, "kind": "HTTPRoute", "namespace": route_ns}],
            "to": [{"group": "", "kind": "Service"}],
        },
    }


def _routes(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for s in config.get("services", []) for r in s.get("routes", [])}


def _targets(config: dict[str, Any], upstream: str) -> list[str]:
    for u in config.get("upstreams", []):
        if u["name"] == upstream:
            return [t["target"] for t in u.get("targets", [])]
    return []


async def _conditions(client: httpx.AsyncClient, ns: str) -> dict[str, tuple[str, str]]:
    """Our controller's conditions on HTTPRoute ``web`` (type -> (status, reason))."""
    r = await client.get(object_path("HTTPRoute", "web", ns))
    r.raise_for_status()
    for parent in (r.json().get("status") or {}).get("parents") or []:
        if parent.get("controllerName") == CONTROLLER:
            return {c["type"]: (c["status"], c["reason"]) for c in parent.get("conditions", [])}
    return {}


async def _namespace(client: httpx.AsyncClient) -> str:
    name = f"t-{secrets.token_hex(4)}"
    r = await client.post("/api/v1/namespaces", json={"metadata": {"name": name}})
    r.raise_for_status()
    return name


async def test_gateway_and_httproute_become_kong_routes_with_parent_status(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    klass = f"kong-{ns}"
    with trio.fail_after(120):
        async with FakeKong() as kong, control_plane.admin_client() as client:
            await apply(client, [_gateway_class(klass)])
            await apply(
                client,
                [_proxy_service(), service("echo"), endpoint_slice("echo"), _gateway(klass)],
                namespace=ns,
            )
            async with running(_config(control_plane.kubeconfig, [kong.url], [ns])):
                await apply(client, [_route()], namespace=ns)
                name = f"httproute.{ns}.web.0.0"
                await kong.wait_for(lambda k: name in _routes(k.config))
                route = _routes(kong.config)[name]
                assert route["paths"] == ["~/echo$", "/echo/"]
                assert route["protocols"] == ["http"]
                assert _targets(kong.config, f"httproute.{ns}.web.0") == ["10.1.0.1:80"]
                conds = await eventually(
                    lambda: _conditions(client, ns), what="HTTPRoute parent status"
                )
                assert conds["Accepted"] == ("True", "Accepted")
                assert conds["ResolvedRefs"] == ("True", "ResolvedRefs")
                # deleting the Gateway detaches the route: its Kong routes go
                assert await delete(client, "Gateway", "kong", ns)
                await kong.wait_for(lambda k: name not in _routes(k.config))
                assert all(r.status in (201, 304) for r in kong.config_posts())


async def test_cross_namespace_backend_follows_its_reference_grant(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    klass = f"kong-{ns}"
    with trio.fail_after(120):
        async with FakeKong() as kong, control_plane.admin_client() as client:
            other = await _namespace(client)
            await apply(client, [_gateway_class(klass)])
            await apply(client, [_proxy_service(), _gateway(klass)], namespace=ns)
            await apply(client, [service("echo"), endpoint_slice("echo")], namespace=other)
            async with running(_config(control_plane.kubeconfig, [kong.url], [ns, other])):
                await apply(client, [_route(backend_ns=other)], namespace=ns)
                upstream = f"httproute.{ns}.web.0"
                await kong.wait_for(lambda k: f"{upstream}.0" in _routes(k.config))
                assert _targets(kong.config, upstream) == []  # refused: no grant
                conds = await eventually(
                    lambda: _conditions(client, ns), what="HTTPRoute parent status"
                )
                assert conds["ResolvedRefs"] == ("False", "RefNotPermitted")
                # the grant appears: served
                await apply(client, [_grant(ns)], namespace=other)
                await kong.wait_for(lambda k: _targets(k.config, upstream) == ["10.1.0.1:80"])

                async def resolved() -> bool:
                    return (await _conditions(client, ns)).get("ResolvedRefs") == (
                        "True",
                        "ResolvedRefs",
                    )

                await eventually(resolved, what="ResolvedRefs=True after the grant")
                # the grant is deleted: dropped again
                assert await delete(client, "ReferenceGrant", "allow-web", other)
                await kong.wait_for(lambda k: _targets(k.config, upstream) == [])
                assert all(r.status in (201, 304) for r in kong.config_posts())
