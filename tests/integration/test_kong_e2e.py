"""The Kong side end to end: a real kube-apiserver, the whole controller, FakeKong gateways.

Ingress -> route on every gateway; a change is pushed; a sick gateway does not hold the others
back; Kong refusing one object's entities gives a Warning Event on exactly that object while
the other objects keep being served and updated; 429 Retry-After is honoured; a gateway that
restarted empty gets the config again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import trio

import kic_trio
from _eventually import eventually
from k8s_objects import app, hosts_in, ingress
from kic_trio.testing import FakeKong, apply
from kic_trio.testing.controlplane import ControlPlane


def config(kubeconfig: Path, urls: list[str], namespace: str, **overrides: Any) -> kic_trio.Config:
    values: dict[str, Any] = {
        "kubeconfig": str(kubeconfig),
        "kong_admin_url": urls,
        "watch_namespace": [namespace],
        "health_probe_bind_address": "127.0.0.1:0",
        "metrics_bind_address": "127.0.0.1:0",
        "proxy_sync_seconds": 0.2,
        "proxy_timeout_seconds": 2.0,
        "kong_admin_init_retries": 5,
        "kong_admin_init_retry_delay": 0.2,
        "kong_status_check_interval": 0.5,
        "pod_name": "kic-0",
        "pod_namespace": namespace,
    }
    values.update(overrides)
    return kic_trio.Config(**values)


@asynccontextmanager
async def controller(cfg: kic_trio.Config) -> AsyncIterator[kic_trio.Controller]:
    async with trio.open_nursery() as nursery:
        c: kic_trio.Controller = await nursery.start(kic_trio.run, cfg)
        yield c
        nursery.cancel_scope.cancel()


async def events_about(client: httpx.AsyncClient, namespace: str, reason: str) -> list[dict[str, Any]]:
    r = await client.get(f"/api/v1/namespaces/{namespace}/events")
    r.raise_for_status()
    return [e for e in r.json()["items"] if e.get("reason") == reason]


async def test_ingress_reaches_every_gateway_and_a_sick_one_does_not_delay_them(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    with trio.fail_after(120):
        async with (
            FakeKong() as a,
            FakeKong() as b,
            FakeKong() as hanging,
            FakeKong() as failing,
            control_plane.admin_client() as client,
        ):
            hanging.hang()
            failing.fail_next(10_000, 503)
            await apply(client, app("web", "web.example.com"), namespace=ns)
            cfg = config(control_plane.kubeconfig, [hanging.url, a.url, failing.url, b.url], ns)
            async with controller(cfg) as c:
                await a.wait_for(lambda k: "web.example.com" in hosts_in(k.config))
                await b.wait_for(lambda k: "web.example.com" in hosts_in(k.config))
                sha = c.latest_config.sha  # type: ignore[union-attr]
                # both healthy gateways have it although the others never accepted anything
                assert hanging.config == {} and failing.config == {}
                # a change is pushed to both healthy gateways
                await apply(client, [ingress("web", "www.example.com")], namespace=ns)
                await a.wait_for(lambda k: "www.example.com" in hosts_in(k.config))
                await b.wait_for(lambda k: "www.example.com" in hosts_in(k.config))
                assert c.latest_config.sha != sha  # type: ignore[union-attr]
                hashes = c.applied_hashes()
                assert hanging.url not in hashes and failing.url not in hashes
                # the failing gateway is retried with backoff, not hammered (a few per second at most)
                assert 1 <= len(failing.config_posts()) < 40
                # once it recovers it catches up
                failing.clear_failures()
                await failing.wait_for(lambda k: "www.example.com" in hosts_in(k.config))
                hanging.release()


async def test_kong_refusing_one_object_warns_exactly_that_object(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    with trio.fail_after(120):
        async with FakeKong() as kong, control_plane.admin_client() as client:
            await apply(client, app("good", "good.example.com"), namespace=ns)
            cfg = config(control_plane.kubeconfig, [kong.url], ns)
            async with controller(cfg) as c:
                await kong.wait_for(lambda k: "good.example.com" in hosts_in(k.config))
                good_hash = kong.configuration_hash
                stored = await apply(client, app("bad", "bad.example.com"), namespace=ns)
                bad_uid = stored[2]["metadata"]["uid"]
                # Kong refuses every entity that came from the "bad" Ingress
                kong.reject_tags = {f"k8s-uid:{bad_uid}"}
                await apply(client, [ingress("bad", "bad.example.com", path="/v2")], namespace=ns)
                await kong.wait_for(lambda k: any(r.status == 400 for r in k.config_posts()))

                async def ingress_warnings() -> list[dict[str, Any]]:
                    return [
                        e for e in await events_about(client, ns, "KongConfigurationApplyFailed")
                        if e["involvedObject"]["kind"] == "Ingress"
                    ]

                warnings = await eventually(ingress_warnings, interval=0.1)
                assert {(e["involvedObject"]["name"], e["involvedObject"]["uid"]) for e in warnings} == {("bad", bad_uid)}
                assert all(e["type"] == "Warning" and e["message"].startswith("invalid ") for e in warnings)
                assert all("rejected by FakeKong" in e["message"] for e in warnings)
                # the good object is still served: the fallback without "bad"'s entities went out
                # (it equals the config before "bad" existed, so wait for an accepted post after
                # the refusal rather than for a new hash)
                def fallback_accepted(k: FakeKong) -> bool:
                    statuses = [r.status for r in k.config_posts()]
                    refused = statuses.index(400) if 400 in statuses else len(statuses)
                    return any(200 <= s < 300 or s == 304 for s in statuses[refused + 1 :])

                await kong.wait_for(fallback_accepted)
                assert kong.configuration_hash == good_hash
                assert hosts_in(kong.config) == {"good.example.com"}
                # and other objects keep flowing while "bad" is refused: they go out without it
                await apply(client, app("extra", "extra.example.com"), namespace=ns)
                await kong.wait_for(lambda k: "extra.example.com" in hosts_in(k.config))
                assert "bad.example.com" not in hosts_in(kong.config)
                # the controller Pod got the push failure too

                async def pod_warnings() -> list[dict[str, Any]]:
                    failed = await events_about(client, ns, "KongConfigurationApplyFailed")
                    return [e for e in failed if e["involvedObject"]["kind"] == "Pod"]

                pod = await eventually(pod_warnings, interval=0.1)
                assert pod[0]["involvedObject"]["name"] == "kic-0"
                assert pod[0]["type"] == "Warning"
                # the same refused config is not re-posted in a loop
                posts = len(kong.config_posts())
                # three status checks later the applier had three chances to re-post it
                checks = len([r for r in kong.requests if r.path == "/status"])
                await kong.wait_for(
                    lambda k: len([r for r in k.requests if r.path == "/status"]) >= checks + 3
                )
                assert len(kong.config_posts()) == posts
                # fixing the object (here: Kong stops refusing it, and the object changes) goes out at once
                kong.reject_tags = set()
                await apply(client, [ingress("bad", "fixed.example.com")], namespace=ns)
                await kong.wait_for(lambda k: "fixed.example.com" in hosts_in(k.config))
                await eventually(lambda: c.applied_hashes() == {kong.url: c.latest_config.sha})  # type: ignore[union-attr]


async def test_retry_after_and_restart_empty(control_plane: ControlPlane, k8s_namespace: str) -> None:
    ns = k8s_namespace
    with trio.fail_after(120):
        async with FakeKong() as kong, control_plane.admin_client() as client:
            kong.fail_next(1, 429, retry_after=2)
            await apply(client, app("web", "web.example.com"), namespace=ns)
            cfg = config(control_plane.kubeconfig, [kong.url], ns)
            async with controller(cfg):
                await kong.wait_for(lambda k: "web.example.com" in hosts_in(k.config))
                first, second = kong.config_posts()[:2]
                assert first.status == 429
                assert second.wall - first.wall >= 2.0  # Retry-After honoured
                # Kong restarts and comes back empty: the config is pushed again promptly
                kong.restart_empty()
                restarted = trio.current_time()
                await kong.wait_for(lambda k: "web.example.com" in hosts_in(k.config))
                assert trio.current_time() - restarted < 0.5 + 2.0  # the check interval, plus slack
