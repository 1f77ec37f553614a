"""Live: when Kong refuses an auth plugin, the route it protects is not served until it is fixed.

A real kube-apiserver, the whole controller (FallbackConfiguration on, the default), FakeKong
told to refuse one key-auth configuration as Kong refuses an invalid one. Every configuration
FakeKong accepts is checked: never the protected host without its key-auth plugin.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import trio

import kic_trio
from _eventually import eventually
from k8s_objects import app
from kic_trio._lifecycle import ConfigApplied, PushFailed
from kic_trio.testing import FakeKong, apply
from kic_trio.testing.controlplane import ControlPlane

BAD_KEY_NAMES = ["bad key"]  # a header name with a space: Kong refuses it


def key_auth(key_names: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "configuration.konghq.com/v1",
        "kind": "KongPlugin",
        "metadata": {"name": "auth"},
        "plugin": "key-auth",
        "config": {"key_names": key_names},
    }


def protected_hosts(config: dict[str, Any]) -> dict[str, set[str]]:
    """host -> names of the plugins on its route."""
    route_plugins: dict[str, set[str]] = {}
    for p in config.get("plugins", []):
        if isinstance(p.get("route"), str):
            route_plugins.setdefault(p["route"], set()).add(p["name"])
    out: dict[str, set[str]] = {}
    for svc in config.get("services", []):
        for r in svc.get("routes", []):
            for h in r.get("hosts", []):
                out.setdefault(h, set()).update(route_plugins.get(r.get("name"), set()))
                out[h].update(route_plugins.get(r.get("id"), set()))
    return out


@asynccontextmanager
async def controller(cfg: kic_trio.Config) -> AsyncIterator[kic_trio.Controller]:
    async with trio.open_nursery() as nursery:
        c: kic_trio.Controller = await nursery.start(kic_trio.run, cfg)
        yield c
        nursery.cancel_scope.cancel()


async def events_about(
    client: httpx.AsyncClient, namespace: str, reason: str, kind: str
) -> list[dict[str, Any]]:
    r = await client.get(f"/api/v1/namespaces/{namespace}/events")
    r.raise_for_status()
    return [
        e
        for e in r.json()["items"]
        if e.get("reason") == reason and e["involvedObject"]["kind"] == kind
    ]


async def wait_for_events(
    client: httpx.AsyncClient, namespace: str, reason: str, kind: str
) -> list[dict[str, Any]]:
    """Poll the API server (Events have no watch here); the caller's fail_after bounds it."""
    found: list[dict[str, Any]] = await eventually(
        lambda: events_about(client, namespace, reason, kind), interval=0.1
    )
    return found


async def test_a_refused_auth_plugin_keeps_its_route_out_until_fixed(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    with trio.fail_after(120):
        async with FakeKong() as kong, control_plane.admin_client() as client:
            kong.reject_entities = [
                ("plugins", {"name": "key-auth", "config.key_names": BAD_KEY_NAMES})
            ]
            unprotected: list[dict[str, set[str]]] = []

            def served(pred: Callable[[dict[str, set[str]]], bool]) -> Callable[[FakeKong], bool]:
                def check(k: FakeKong) -> bool:
                    hosts = protected_hosts(k.config)
                    if (
                        "secure.example.com" in hosts
                        and "key-auth" not in hosts["secure.example.com"]
                    ):
                        unprotected.append(hosts)
                    return pred(hosts)

                return check

            await apply(client, app("open", "open.example.com"), namespace=ns)
            cfg = kic_trio.Config(
                kubeconfig=str(control_plane.kubeconfig),
                kong_admin_url=[kong.url],
                watch_namespace=[ns],
                health_probe_bind_address="127.0.0.1:0",
                metrics_bind_address="127.0.0.1:0",
                proxy_sync_seconds=0.2,
                kong_admin_init_retries=5,
                kong_admin_init_retry_delay=0.2,
                pod_name="kic-0",
                pod_namespace=ns,
            )
            async with (
                controller(cfg) as c,
                c.subscribe() as lifecycle,
                trio.open_nursery() as watch,
            ):
                # every configuration FakeKong accepts, from now to the end, is checked
                watch.start_soon(kong.wait_for, served(lambda h: False))
                await kong.wait_for(served(lambda h: "open.example.com" in h))
                good = kong.configuration_hash
                # a tenant adds a route protected by a key-auth configuration Kong refuses
                await apply(client, [key_auth(BAD_KEY_NAMES)], namespace=ns)
                await apply(
                    client,
                    app("secure", "secure.example.com", annotations={"konghq.com/plugins": "auth"}),
                    namespace=ns,
                )
                # Kong refuses it; the lifecycle event says the fallback removes key-auth and
                # what it protected; then the fallback goes out
                pf: PushFailed | None = None
                applied: ConfigApplied | None = None
                while applied is None:
                    e = await lifecycle.receive()
                    if isinstance(e, PushFailed) and e.status == 400:
                        pf = e
                    elif isinstance(e, ConfigApplied) and pf is not None:
                        applied = e
                assert pf is not None
                # the open host is served, the protected one is not: the fallback is the last
                # good configuration itself (the secure Service has no route left, so it goes
                # too, as upstream's re-translation would not emit it), and Kong answers 304
                await kong.wait_for(served(lambda h: "open.example.com" in h))
                assert kong.configuration_hash == good
                assert "open.example.com" in protected_hosts(kong.config)
                assert "secure.example.com" not in protected_hosts(kong.config)
                assert applied.plugins_removed == pf.plugins_removed
                assert any(
                    "key-auth" in p and "Ingress" in p and "/secure" in p
                    for p in pf.plugins_removed
                )
                assert {(r.kind, r.name) for r in pf.left_out} >= {
                    ("KongPlugin", "auth"),
                    ("Ingress", "secure"),
                }
                assert "key-auth" in pf.reason
                # Warning Events: Kong's verdict on the KongPlugin, "left out" on the Ingress
                refused = await wait_for_events(
                    client, ns, "KongConfigurationApplyFailed", "KongPlugin"
                )
                assert all(
                    e["involvedObject"]["name"] == "auth" and e["type"] == "Warning"
                    for e in refused
                )
                assert any("rejected by FakeKong" in e["message"] for e in refused)
                left = await wait_for_events(
                    client, ns, "FallbackKongConfigurationExcluded", "Ingress"
                )
                assert {e["involvedObject"]["name"] for e in left} == {"secure"}
                assert all(e["type"] == "Warning" and "key-auth" in e["message"] for e in left)
                # the author fixes the plugin: the route goes out, with key-auth on it
                await apply(client, [key_auth(["apikey"])], namespace=ns)
                await kong.wait_for(
                    served(
                        lambda h: (
                            h.get("secure.example.com") == {"key-auth"} and "open.example.com" in h
                        )
                    )
                )
                [plugin] = [p for p in kong.config["plugins"] if p["name"] == "key-auth"]
                assert plugin["config"]["key_names"] == ["apikey"]
                watch.cancel_scope.cancel()
            # no configuration Kong accepted ever served the protected host without key-auth
            assert unprotected == []
