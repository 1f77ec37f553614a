"""The watch layer survives a kube-apiserver restart and an expired resourceVersion.

Changes are made while the watchers' kube-apiserver is *down*, through a second kube-apiserver
on the same etcd (as a client of one replica of an HA control plane would see it). Afterwards
the store must equal the API's view exactly: nothing lost, nothing invented, current versions.
"""

from __future__ import annotations

from typing import Any

import httpx
import trio
from test_watch import create, manifest  # same folder (pytest puts it on sys.path)

from _eventually import eventually
from kic_trio.testing.controlplane import ControlPlane


async def _api_view(client: httpx.AsyncClient, ns: str) -> dict[str, str]:
    r = await client.get(f"/api/v1/namespaces/{ns}/services")
    assert r.status_code == 200
    return {i["metadata"]["name"]: i["metadata"]["resourceVersion"] for i in r.json()["items"]}


def _store_view(h: Any, ns: str) -> dict[str, str]:
    return {
        o.name: o.resource_version for o in h.store.snapshot().list("Service") if o.namespace == ns
    }


async def _change_while_down(cp: ControlPlane, ns: str, *, compact: bool) -> None:
    """Stop the main kube-apiserver; delete/modify/create through a spare one; bring it back."""
    await cp.stop_apiserver()
    async with cp.extra_apiserver() as kubeconfig:
        assert kubeconfig.exists()
        async with httpx.AsyncClient(
            base_url=f"https://127.0.0.1:{_port_of(kubeconfig)}",
            verify=cp._ssl_context(),
            timeout=10,
        ) as spare:
            for i in range(0, 10):
                r = await spare.delete(f"/api/v1/namespaces/{ns}/services/svc-{i}")
                assert r.status_code == 200
            for i in range(10, 13):
                r = await spare.patch(
                    f"/api/v1/namespaces/{ns}/services/svc-{i}",
                    json={"metadata": {"labels": {"changed": "while-down"}}},
                    headers={"Content-Type": "application/merge-patch+json"},
                )
                assert r.status_code == 200
            for i in range(20, 25):
                await create(spare, manifest("Service", ns, f"svc-{i}"))
    if compact:
        await cp.compact_etcd()
    await cp.start_apiserver()


def _port_of(kubeconfig: Any) -> int:
    import yaml

    server = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    return int(server.rsplit(":", 1)[1])


async def _run(cp: ControlPlane, ns: str, watch_harness: Any, *, compact: bool) -> Any:
    async with watch_harness(watch_namespace=[ns]) as h, cp.admin_client() as client:
        for i in range(20):
            await create(client, manifest("Service", ns, f"svc-{i}"))
        await h.wait_until(lambda: len(_store_view(h, ns)) == 20)
        await _change_while_down(cp, ns, compact=compact)
        expected = await _api_view(client, ns)
        assert len(expected) == 15
        await h.wait_until(lambda: _store_view(h, ns) == expected)
        for i in range(10, 13):
            assert h.get("Service", ns, f"svc-{i}").labels["changed"] == "while-down"
        # And the watch is live again.
        await create(client, manifest("Service", ns, "after"))
        await h.wait_until(lambda: h.get("Service", ns, "after") is not None)
    return h


async def test_apiserver_restart_mid_watch(
    control_plane: ControlPlane, k8s_namespace: str, watch_harness: Any
) -> None:
    with trio.fail_after(240):
        h = await _run(control_plane, k8s_namespace, watch_harness, compact=False)
    restarts = sum(
        h.metric("kic_trio_watch_restarts_total", kind="Service", reason=reason, instance_id="test")
        for reason in ("error", "timeout", "idle", "http_500", "http_503")
    )
    assert restarts >= 1


async def test_expired_resource_version_relists(
    control_plane: ControlPlane, k8s_namespace: str, watch_harness: Any
) -> None:
    with trio.fail_after(240):
        h = await _run(control_plane, k8s_namespace, watch_harness, compact=True)
    assert h.metric("kic_trio_watch_relists_total", kind="Service", instance_id="test") >= 1


async def test_silent_dead_stream_is_detected(
    control_plane: ControlPlane, k8s_namespace: str, watch_harness: Any
) -> None:
    """kube-apiserver frozen (SIGSTOP): the connection stays open and says nothing. The read
    timeout ends the watch; once the server answers again, changes made meanwhile (through a
    spare kube-apiserver) reach the store."""
    ns = k8s_namespace
    cp = control_plane
    with trio.fail_after(240):
        async with watch_harness(
            watch_namespace=[ns], reflector_options={"read_timeout": 3.0}
        ) as h:
            async with cp.admin_client() as client:
                await create(client, manifest("Service", ns, "before"))
            await h.wait_until(lambda: h.get("Service", ns, "before") is not None)
            idle = {"kind": "Service", "reason": "idle", "instance_id": "test"}
            idle_before = h.metric("kic_trio_watch_restarts_total", **idle)
            cp.pause_apiserver()
            try:
                async with (
                    cp.extra_apiserver() as kubeconfig,
                    httpx.AsyncClient(
                        base_url=f"https://127.0.0.1:{_port_of(kubeconfig)}",
                        verify=cp._ssl_context(),
                        timeout=10,
                    ) as spare,
                ):
                    r = await spare.delete(f"/api/v1/namespaces/{ns}/services/before")
                    assert r.status_code == 200
                    await create(spare, manifest("Service", ns, "during"))
                    # a metric has no event to wait on: poll it
                    await eventually(
                        lambda: h.metric("kic_trio_watch_restarts_total", **idle) > idle_before,
                        interval=0.2,
                    )
            finally:
                cp.resume_apiserver()
            await h.wait_until(
                lambda: (
                    h.get("Service", ns, "before") is None
                    and h.get("Service", ns, "during") is not None
                )
            )
