"""TCPIngress / UDPIngress live: a real kube-apiserver (with the pinned CRDs), the whole
controller, FakeKong validating stream routes as Kong does.

Create, update and delete each kind and watch Kong's configuration follow: stream services
(``protocol: tcp``/``udp``) and routes (``destinations``/``snis``; ``expression`` at priority 1
for a gateway on the expressions router). Every configuration pushed must be one Kong accepts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio

import kic_trio
from _live_controller import live_config, running
from k8s_objects import endpoint_slice, service
from kic_trio.testing import FakeKong, apply, delete
from kic_trio.testing.controlplane import ControlPlane


def _config(kubeconfig: Path, urls: list[str], namespace: str) -> kic_trio.Config:
    return live_config(kubeconfig, urls, namespace, kong_status_check_interval=0.5)


def _stream(kind: str, name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "configuration.konghq.com/v1beta1",
        "kind": kind,
        "metadata": {"name": name, "annotations": {"kubernetes.io/ingress.class": "kong"}},
        "spec": {"rules": rules},
    }


def _rule(port: int, svc: str, svc_port: int, host: str = "") -> dict[str, Any]:
    rule: dict[str, Any] = {"port": port, "backend": {"serviceName": svc, "servicePort": svc_port}}
    if host:
        rule["host"] = host
    return rule


def _services(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in config.get("services", [])}


def _routes(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for s in config.get("services", []) for r in s.get("routes", [])}


def _apps() -> list[dict[str, Any]]:
    return [service("echo", 7000), endpoint_slice("echo", port=7000)]


async def test_tcp_and_udp_ingress_create_update_delete(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    with trio.fail_after(120):
        async with FakeKong() as kong, control_plane.admin_client() as client:
            await apply(client, _apps(), namespace=ns)
            async with running(_config(control_plane.kubeconfig, [kong.url], ns)):
                # create
                await apply(
                    client,
                    [
                        _stream("TCPIngress", "t", [_rule(9000, "echo", 7000, "t.example.com")]),
                        _stream("UDPIngress", "u", [_rule(9999, "echo", 7000)]),
                    ],
                    namespace=ns,
                )
                tcp_route, udp_route = f"{ns}.t.0", f"{ns}.u.0.udp"
                await kong.wait_for(lambda k: {tcp_route, udp_route} <= set(_routes(k.config)))
                services = _services(kong.config)
                tcp, udp = services[f"{ns}.echo.7000"], services[f"{ns}.echo.7000.udp"]
                assert (tcp["protocol"], tcp["port"], tcp["retries"]) == ("tcp", 7000, 5)
                assert (udp["protocol"], udp["port"]) == ("udp", 7000) and "retries" not in udp
                routes = _routes(kong.config)
                assert routes[tcp_route]["protocols"] == ["tcp", "tls"]
                assert routes[tcp_route]["destinations"] == [{"port": 9000}]
                assert routes[tcp_route]["snis"] == ["t.example.com"]
                assert routes[udp_route]["protocols"] == ["udp"]
                targets = {
                    t["target"] for u in kong.config["upstreams"] for t in u.get("targets", [])
                }
                assert targets == {"10.1.0.1:7000"}
                # update: a second rule, another port
                await apply(
                    client,
                    [
                        _stream(
                            "TCPIngress",
                            "t",
                            [_rule(9000, "echo", 7000, "t.example.com"), _rule(9001, "echo", 7000)],
                        ),
                        _stream("UDPIngress", "u", [_rule(5353, "echo", 7000)]),
                    ],
                    namespace=ns,
                )
                await kong.wait_for(
                    lambda k: (
                        f"{ns}.t.1" in _routes(k.config)
                        and _routes(k.config).get(udp_route, {}).get("destinations")
                        == [{"port": 5353}]
                    )
                )
                assert "snis" not in _routes(kong.config)[f"{ns}.t.1"]
                # delete: the routes and their services go
                assert await delete(client, "UDPIngress", "u", ns)
                await kong.wait_for(lambda k: f"{ns}.echo.7000.udp" not in _services(k.config))
                assert await delete(client, "TCPIngress", "t", ns)
                await kong.wait_for(lambda k: not _routes(k.config))
                assert all(r.status in (201, 304) for r in kong.config_posts())


@pytest.mark.parametrize("kind", ["TCPIngress", "UDPIngress"])
async def test_expressions_gateway_receives_stream_expression_routes(
    control_plane: ControlPlane, k8s_namespace: str, kind: str
) -> None:
    ns = k8s_namespace
    host = "t.example.com" if kind == "TCPIngress" else ""
    suffix = ".udp" if kind == "UDPIngress" else ""
    want = (
        '(tls.sni == "t.example.com") && (net.dst.port == 9000)' if host else "net.dst.port == 9000"
    )
    with trio.fail_after(120):
        async with (
            FakeKong(router_flavor="expressions") as kong,
            control_plane.admin_client() as client,
        ):
            await apply(client, _apps(), namespace=ns)
            await apply(
                client, [_stream(kind, "s", [_rule(9000, "echo", 7000, host)])], namespace=ns
            )
            async with running(_config(control_plane.kubeconfig, [kong.url], ns)):
                name = f"{ns}.s.0{suffix}"
                await kong.wait_for(lambda k: name in _routes(k.config))
                route = _routes(kong.config)[name]
                assert (route["expression"], route["priority"]) == (want, 1)
                assert "destinations" not in route and "snis" not in route
                assert all(r.status in (201, 304) for r in kong.config_posts())
