"""The expressions router live: a real kube-apiserver, the whole controller, FakeKong gateways.

A gateway reporting ``router_flavor = expressions`` in ``GET /`` gets expression routes for an
Ingress (and FakeKong, validating as Kong does in that flavor, accepts them); gateways of
different flavors behind one controller stop it at start-up with a clear error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio

import kic_trio
from _live_controller import live_config, running
from k8s_objects import app, ingress
from kic_trio._errors import ControllerError
from kic_trio.testing import FakeKong, apply
from kic_trio.testing.controlplane import ControlPlane


def _config(kubeconfig: Path, urls: list[str], namespace: str) -> kic_trio.Config:
    return live_config(kubeconfig, urls, namespace, kong_status_check_interval=0.5)


def _routes(config: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for s in config.get("services", []) for r in s.get("routes", [])]


def _expressions(config: dict[str, Any]) -> set[str]:
    return {str(r.get("expression")) for r in _routes(config)}


async def test_expressions_gateway_receives_expression_routes(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    first = '(http.host == "web.example.com") && (http.path ^= "/")'
    with trio.fail_after(120):
        async with (
            FakeKong(router_flavor="expressions") as kong,
            control_plane.admin_client() as client,
        ):
            await apply(client, app("web", "web.example.com"), namespace=ns)
            async with running(_config(control_plane.kubeconfig, [kong.url], ns)):
                await kong.wait_for(lambda k: first in _expressions(k.config))
                (route,) = _routes(kong.config)
                for field in ("paths", "hosts", "regex_priority", "path_handling"):
                    assert field not in route
                assert route["priority"] == (3 << 44) + (2 << 41) + (1 << 32) + (1 << 16) + 1
                # a change is translated for the same flavor; the escaping reaches Kong intact
                await apply(
                    client,
                    [
                        ingress(
                            "web",
                            "web.example.com",
                            path="/v2",
                            annotations={"konghq.com/headers.X-Q": 'a"b\\c'},
                        )
                    ],
                    namespace=ns,
                )
                want = (
                    '(http.host == "web.example.com") && '
                    '((http.path == "/v2") || (http.path ^= "/v2/")) && '
                    '(http.headers.x_q == "a\\"b\\\\c")'
                )
                await kong.wait_for(lambda k: want in _expressions(k.config))
                assert all(r.status in (201, 304) for r in kong.config_posts())


async def test_gateways_of_different_flavors_stop_the_controller(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    with trio.fail_after(120):
        async with FakeKong(router_flavor="expressions") as a, FakeKong() as b:
            cfg = _config(control_plane.kubeconfig, [a.url, b.url], ns)
            with pytest.raises(ControllerError, match="different router flavors") as err:
                await kic_trio.run(cfg)
            assert "expressions" in str(err.value) and "traditional_compatible" in str(err.value)
            assert a.config_posts() == [] and b.config_posts() == []
