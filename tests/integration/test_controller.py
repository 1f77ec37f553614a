"""run() end to end against the real control plane and FakeKong: the wiring, the handle,
clean cancellation with nothing left behind, and several instances in one process."""

from __future__ import annotations

import gc
import os
import threading
from pathlib import Path
from typing import Any

import pytest
import trio

import kic_trio
from k8s_objects import app, hosts_in
from kic_trio.testing import FakeKong, apply, delete
from kic_trio.testing.controlplane import ControlPlane


def _config(kubeconfig: Path, kong: FakeKong, namespace: str, **overrides: Any) -> kic_trio.Config:
    values: dict[str, Any] = {
        "kubeconfig": str(kubeconfig),
        "kong_admin_url": [kong.url],
        "watch_namespace": [namespace],
        "publish_status_address": ["192.0.2.10"],
        "health_probe_bind_address": "127.0.0.1:0",
        "metrics_bind_address": "127.0.0.1:0",
        "proxy_sync_seconds": 0.2,
        "kong_admin_init_retries": 5,
        "kong_admin_init_retry_delay": 0.2,
    }
    values.update(overrides)
    return kic_trio.Config(**values)


def service_and_ingress(name: str, host: str, ingress_class: str = "kong") -> list[dict[str, Any]]:
    return app(name, host, ingress_class=ingress_class)


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_ingress_reaches_kong_and_run_cancels_cleanly(
    control_plane: ControlPlane, kubeconfig: Path, k8s_namespace: str
) -> None:
    with trio.fail_after(90):
        async with FakeKong() as kong, control_plane.admin_client() as client:
            await apply(client, service_and_ingress("web", "web.example.com"), namespace=k8s_namespace)
            gc.collect()
            threads_before = threading.active_count()
            fds_before = _open_fds()
            cfg = _config(kubeconfig, kong, k8s_namespace)
            events: list[Any] = []
            async with trio.open_nursery() as nursery:
                controller: kic_trio.Controller = await nursery.start(kic_trio.run, cfg)
                assert controller.probe_port and controller.metrics_port

                async def collect() -> None:
                    async with controller.subscribe() as stream:
                        async for event in stream:
                            events.append(event)

                nursery.start_soon(collect)
                await controller.wait_ready()
                await kong.wait_for(lambda k: "web.example.com" in hosts_in(k.config))
                assert controller.applied_hashes() == {kong.url: controller.latest_config.sha}  # type: ignore[union-attr]

                # a change is pushed
                await apply(client, service_and_ingress("web", "www.example.com")[2:], namespace=k8s_namespace)
                await kong.wait_for(lambda k: "www.example.com" in hosts_in(k.config))
                # a deletion too
                await delete(client, "Ingress", "web", k8s_namespace)
                await kong.wait_for(lambda k: not hosts_in(k.config))

                nursery.cancel_scope.cancel()
            assert any(isinstance(e, kic_trio.ConfigApplied) for e in events)
            assert any(isinstance(e, kic_trio.CachesSynced) for e in events)
        # nothing outlives run(): no thread, no socket (the fixtures' own are closed too)
        gc.collect()
        await trio.lowlevel.checkpoint()
        assert threading.active_count() <= threads_before
        assert _open_fds() <= fds_before


async def test_two_controllers_with_different_classes_side_by_side(
    control_plane: ControlPlane, kubeconfig: Path, k8s_namespace: str
) -> None:
    with trio.fail_after(90):
        async with FakeKong() as kong_a, FakeKong() as kong_b, control_plane.admin_client() as client:
            for cls in ("class-a", "class-b"):
                await apply(
                    client,
                    [{"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                      "metadata": {"name": f"{k8s_namespace}-{cls}"},
                      "spec": {"controller": "ingress-controllers.konghq.com/kong"}}],
                )
            await apply(
                client,
                service_and_ingress("a", "a.example.com", f"{k8s_namespace}-class-a")
                + service_and_ingress("b", "b.example.com", f"{k8s_namespace}-class-b")[2:],
                namespace=k8s_namespace,
            )
            cfg_a = _config(kubeconfig, kong_a, k8s_namespace, ingress_class=f"{k8s_namespace}-class-a")
            cfg_b = _config(kubeconfig, kong_b, k8s_namespace, ingress_class=f"{k8s_namespace}-class-b")
            async with trio.open_nursery() as nursery:
                a = await nursery.start(kic_trio.run, cfg_a)
                b = await nursery.start(kic_trio.run, cfg_b)
                await kong_a.wait_for(lambda k: "a.example.com" in hosts_in(k.config))
                await kong_b.wait_for(lambda k: "b.example.com" in hosts_in(k.config))
                assert hosts_in(kong_a.config) == {"a.example.com"}
                assert hosts_in(kong_b.config) == {"b.example.com"}
                assert a.metrics_registry is not b.metrics_registry
                assert a.instance_id != b.instance_id
                # stopping one leaves the other running
                a.stop()
                await apply(client, service_and_ingress("b2", "b2.example.com", f"{k8s_namespace}-class-b")[2:], namespace=k8s_namespace)
                await kong_b.wait_for(lambda k: "b2.example.com" in hosts_in(k.config))
                nursery.cancel_scope.cancel()


async def test_invalid_config_raises_before_starting() -> None:
    with trio.fail_after(5), pytest.raises(kic_trio.ConfigError) as info:
        await kic_trio.run(kic_trio.Config(log_level="bogus"))
    assert "--log-level" in str(info.value)


async def test_task_failure_is_one_controller_error(tmp_path: Path) -> None:
    # A kubeconfig that does not exist: the Kubernetes client cannot be built.
    cfg = kic_trio.Config(
        kubeconfig=str(tmp_path / "missing"),
        health_probe_bind_address="127.0.0.1:0",
        metrics_bind_address="127.0.0.1:0",
    )
    with trio.fail_after(20), pytest.raises(kic_trio.KicTrioError) as info:
        await kic_trio.run(cfg)
    assert not isinstance(info.value, BaseExceptionGroup)
