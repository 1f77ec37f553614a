"""GRPCRoute, TCPRoute and UDPRoute live: a real kube-apiserver with the pinned Gateway API CRDs,
the whole controller (GatewayAlpha on for the L4 kinds), FakeKong validating what Kong accepts.

A GatewayClass of ours (managed: the test plays the component that accepts the Gateway and
writes its listener status, as Kong's operator would), a Gateway with HTTP/TCP/UDP listeners and
the routes attached to it become Kong gRPC and stream services and routes (both router flavors
for UDPRoute); a route naming a listener it cannot use is not served; deleting a route takes its
Kong service away. Every configuration pushed must be one Kong accepts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio

import kic_trio
from _eventually import eventually
from _live_controller import live_config, running
from k8s_objects import endpoint_slice, service
from kic_trio.testing import FakeKong, apply, delete
from kic_trio.testing._apply import object_path
from kic_trio.testing.controlplane import ControlPlane

GW = "gateway.networking.k8s.io"


def _config(kubeconfig: Path, urls: list[str], namespace: str) -> kic_trio.Config:
    return live_config(
        kubeconfig,
        urls,
        namespace,
        kong_status_check_interval=0.5,
        feature_gates={"GatewayAlpha": True},
    )


def _gateway_objects(ns: str) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": f"{GW}/v1",
            "kind": "GatewayClass",
            "metadata": {"name": f"kong-{ns}"},
            "spec": {"controllerName": "konghq.com/kic-gateway-controller"},
        },
        {
            "apiVersion": f"{GW}/v1",
            "kind": "Gateway",
            "metadata": {"name": "kong"},
            "spec": {
                "gatewayClassName": f"kong-{ns}",
                "listeners": [
                    {"name": "http", "protocol": "HTTP", "port": 80},
                    {"name": "tcp", "protocol": "TCP", "port": 9000},
                    {"name": "udp", "protocol": "UDP", "port": 9053},
                    {
                        "name": "tls",
                        "protocol": "TLS",
                        "port": 9443,
                        "hostname": "tls.example",
                        "tls": {"mode": "Passthrough"},
                    },
                ],
            },
        },
        service("echo", 7000),
        endpoint_slice("echo", port=7000),
    ]


_KINDS = {"HTTP": "GRPCRoute", "TCP": "TCPRoute", "UDP": "UDPRoute", "TLS": "TLSRoute"}


async def _accept_gateway(client: Any, ns: str) -> None:
    """Write the Gateway's status as the component owning a managed class does: Accepted for
    its generation, every listener Programmed with its route kind supported."""
    path = object_path("Gateway", "kong", ns)
    gw = (await client.get(path)).json()
    gen = gw["metadata"]["generation"]
    now = "2026-01-01T00:00:00Z"

    def cond(kind: str) -> dict[str, Any]:
        return {
            "type": kind,
            "status": "True",
            "reason": kind,
            "message": "",
            "observedGeneration": gen,
            "lastTransitionTime": now,
        }

    gw["status"] = {
        "conditions": [cond("Accepted"), cond("Programmed")],
        "listeners": [
            {
                "name": lst["name"],
                "supportedKinds": [{"group": GW, "kind": _KINDS[lst["protocol"]]}],
                "attachedRoutes": 0,
                "conditions": [cond("Accepted"), cond("Programmed")],
            }
            for lst in gw["spec"]["listeners"]
        ],
    }
    resp = await client.put(path + "/status", json=gw)
    assert resp.status_code == 200, resp.text


def _l4(kind: str, name: str, section: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GW}/v1alpha2",
        "kind": kind,
        "metadata": {"name": name},
        "spec": {
            "parentRefs": [{"name": "kong", "sectionName": section}],
            "rules": [{"backendRefs": [{"name": "echo", "port": 7000}]}],
        },
    }


def _grpc(name: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GW}/v1",
        "kind": "GRPCRoute",
        "metadata": {"name": name},
        "spec": {
            "parentRefs": [{"name": "kong"}],
            "hostnames": ["grpc.example"],
            "rules": [
                {
                    "matches": [{"method": {"service": "echo.Echo", "method": "Say"}}],
                    "backendRefs": [{"name": "echo", "port": 7000}],
                }
            ],
        },
    }


async def _our_conditions(client: Any, kind: str, name: str, ns: str) -> dict[str, Any]:
    """Our ``status.parents`` entry's conditions as ``{type: (status, reason)}`` ({} if none)."""
    obj = (await client.get(object_path(kind, name, ns))).json()
    for parent in (obj.get("status") or {}).get("parents") or ():
        if parent.get("controllerName") == "konghq.com/kic-gateway-controller":
            return {c["type"]: (c["status"], c["reason"]) for c in parent["conditions"]}
    return {}


def _services(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in config.get("services", [])}


def _routes(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for s in config.get("services", []) for r in s.get("routes", [])}


async def test_tcproute_and_grpcroute_become_kong_stream_and_grpc_routes(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    with trio.fail_after(120):
        async with FakeKong() as kong, control_plane.admin_client() as client:
            await apply(client, _gateway_objects(ns), namespace=ns)
            await _accept_gateway(client, ns)
            async with running(_config(control_plane.kubeconfig, [kong.url], ns)):
                await apply(
                    client,
                    [_l4("TCPRoute", "t", "tcp"), _grpc("g"), _l4("TCPRoute", "wrong", "udp")],
                    namespace=ns,
                )
                tcp_svc, grpc_svc = f"tcproute.{ns}.t.0", f"grpcroute.{ns}.g.0"
                await kong.wait_for(lambda k: {tcp_svc, grpc_svc} <= set(_services(k.config)))
                services = _services(kong.config)
                tcp, grpc = services[tcp_svc], services[grpc_svc]
                assert (tcp["protocol"], tcp["port"], tcp["host"]) == ("tcp", 7000, tcp_svc)
                assert grpc["protocol"] == "grpc"  # the Gateway has an HTTP listener
                routes = _routes(kong.config)
                assert routes[f"{tcp_svc}.0"]["destinations"] == [{"port": 9000}]
                assert routes[f"{tcp_svc}.0"]["protocols"] == ["tcp"]
                grpc_route = routes[f"{grpc_svc}.0"]
                assert grpc_route["paths"] == ["~/echo.Echo/Say"]
                assert grpc_route["hosts"] == ["grpc.example"]
                # route status: our parent entry with Accepted/ResolvedRefs/Programmed
                for kind, name in (("TCPRoute", "t"), ("GRPCRoute", "g")):
                    conds = await eventually(
                        lambda kind=kind, name=name: _our_conditions(client, kind, name, ns),
                        what=f"{kind} status",
                    )
                    assert conds == {
                        "Accepted": ("True", "Accepted"),
                        "ResolvedRefs": ("True", "ResolvedRefs"),
                        "Programmed": ("True", "ConfiguredInGateway"),
                    }
                wrong = await eventually(
                    lambda: _our_conditions(client, "TCPRoute", "wrong", ns), what="wrong status"
                )
                assert wrong["Accepted"] == ("False", "NoMatchingParent")
                upstreams = {u["name"]: u for u in kong.config["upstreams"]}
                # the API server defaults backendRefs[].weight to 1: split over one endpoint
                assert upstreams[tcp_svc]["targets"] == [{"target": "10.1.0.1:7000", "weight": 1}]
                # delete: the route's Kong service goes, the other stays
                assert await delete(client, "TCPRoute", "t", ns)
                await kong.wait_for(lambda k: tcp_svc not in _services(k.config))
                assert grpc_svc in _services(kong.config)
                # the TCPRoute naming the UDP listener is not attached: never served
                assert f"tcproute.{ns}.wrong.0" not in _services(kong.config)
                assert all(r.status in (201, 304) for r in kong.config_posts())


@pytest.mark.parametrize("flavor", ["traditional_compatible", "expressions"])
async def test_udproute_both_flavors(
    control_plane: ControlPlane, k8s_namespace: str, flavor: str
) -> None:
    ns = k8s_namespace
    with trio.fail_after(120):
        async with (
            FakeKong(router_flavor=flavor) as kong,
            control_plane.admin_client() as client,
        ):
            await apply(client, [*_gateway_objects(ns), _l4("UDPRoute", "u", "udp")], namespace=ns)
            await _accept_gateway(client, ns)
            async with running(_config(control_plane.kubeconfig, [kong.url], ns)):
                name = f"udproute.{ns}.u.0"
                await kong.wait_for(lambda k: name in _services(k.config))
                svc = _services(kong.config)[name]
                assert svc["protocol"] == "udp" and svc["port"] == 7000
                route = _routes(kong.config)[f"{name}.0"]
                assert route["protocols"] == ["udp"]
                if flavor == "expressions":
                    assert (route["expression"], route["priority"]) == ("net.dst.port == 9053", 1)
                    assert "destinations" not in route
                else:
                    assert route["destinations"] == [{"port": 9053}]
                assert all(r.status in (201, 304) for r in kong.config_posts())


async def test_tlsroute_passthrough_matches_its_sni(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    """A TLSRoute on a Passthrough TLS listener: a ``tls_passthrough`` Kong route on its SNI."""
    ns = k8s_namespace
    route = _l4("TLSRoute", "s", "tls")
    route["spec"]["hostnames"] = ["tls.example"]
    with trio.fail_after(120):
        async with FakeKong() as kong, control_plane.admin_client() as client:
            await apply(client, [*_gateway_objects(ns), route], namespace=ns)
            await _accept_gateway(client, ns)
            async with running(_config(control_plane.kubeconfig, [kong.url], ns)):
                name = f"tlsroute.{ns}.s.0"
                await kong.wait_for(lambda k: name in _services(k.config))
                assert _services(kong.config)[name]["protocol"] == "tcp"
                kong_route = _routes(kong.config)[f"{name}.0"]
                assert kong_route["protocols"] == ["tls_passthrough"]
                assert kong_route["snis"] == ["tls.example"]
                conds = await eventually(
                    lambda: _our_conditions(client, "TLSRoute", "s", ns), what="TLSRoute status"
                )
                assert conds["Accepted"] == ("True", "Accepted")
                assert all(r.status in (201, 304) for r in kong.config_posts())
