"""Probes and metrics endpoints on hypercorn, bound to port 0."""

from __future__ import annotations

import httpx
import trio

from kic_trio import Config
from kic_trio._instance import Instance
from kic_trio._server import metrics_app, probes_app, serve_app


async def test_probes_follow_health_and_metrics_serve_the_instance_registry() -> None:
    instance = Instance.create(Config())
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            phost, pport = await nursery.start(serve_app, probes_app(instance), "127.0.0.1:0")
            mhost, mport = await nursery.start(serve_app, metrics_app(instance), "127.0.0.1:0")
            assert pport > 0 and mport > 0 and pport != mport
            async with httpx.AsyncClient() as client:
                probes = f"http://{phost}:{pport}"
                assert (await client.get(f"{probes}/healthz")).text == "ok"
                r = await client.get(f"{probes}/readyz")
                assert r.status_code == 500 and "not started" in r.text
                instance.health.started = True
                instance.health.mark_synced()
                r = await client.get(f"{probes}/readyz")
                assert r.status_code == 500 and "synchronizer not yet configured" in r.text
                instance.leader.set(False)  # a follower is ready once synced
                assert (await client.get(f"{probes}/readyz")).status_code == 200
                instance.leader.set(True)
                instance.health.mark_pushed()
                assert (await client.get(f"{probes}/readyz")).status_code == 200
                assert (await client.get(f"{probes}/nope")).status_code == 404

                instance.metrics.push_count.labels("true", "db-less", "", "http://k", instance.id).inc()
                text = (await client.get(f"http://{mhost}:{mport}/metrics")).text
                assert 'ingress_controller_configuration_push_count_total{' in text
                assert 'dataplane="http://k"' in text
            nursery.cancel_scope.cancel()


async def test_two_instances_have_separate_registries() -> None:
    a, b = Instance.create(Config()), Instance.create(Config())
    a.metrics.translation_count.labels("true", a.id).inc()
    assert a.metrics.registry is not b.metrics.registry
    assert b.metrics.registry.get_sample_value(
        "ingress_controller_translation_count_total", {"success": "true", "instance_id": a.id}
    ) is None
    assert a.metrics.registry.get_sample_value(
        "ingress_controller_translation_count_total", {"success": "true", "instance_id": a.id}
    ) == 1.0
