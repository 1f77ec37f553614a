"""The test control plane is a real Kubernetes API: versions, CRUD through kr8s, watches, users."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import kr8s
import pytest
import trio
from kr8s.asyncio.objects import Ingress, Service, new_class

from kic_trio.testing.controlplane import (
    GATEWAY_API_VERSION,
    K8S_VERSION,
    ControlPlane,
    ControlPlaneError,
)

KongPlugin = new_class("KongPlugin.configuration.konghq.com/v1", namespaced=True)


@pytest.fixture
async def api(kubeconfig: Path) -> AsyncIterator[Any]:
    # Our own Api object (not kr8s's per-thread cache), closed at the end.
    a = kr8s.asyncio.Api(kubeconfig=str(kubeconfig), bypass_factory=True)
    await a.auth  # credentials only; `await a` would also check (and warn about) the version
    a.timeout = httpx.Timeout(10.0, read=30.0)
    try:
        yield a
    finally:
        if a._session is not None:
            await a._session.aclose()


async def test_kube_apiserver_version(control_plane: ControlPlane) -> None:
    with trio.fail_after(30):
        proc = await trio.run_process(
            [str(control_plane.bin_dir / "kube-apiserver"), "--version"], capture_stdout=True
        )
    out = proc.stdout.decode()
    assert out.strip() == f"Kubernetes {K8S_VERSION}"
    assert K8S_VERSION.startswith("v1.37.")


async def test_version_endpoint_and_crds(control_plane: ControlPlane) -> None:
    with trio.fail_after(30):
        async with control_plane.admin_client() as client:
            version = (await client.get("/version")).json()
            crds = (
                await client.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
            ).json()
    assert version["gitVersion"] == K8S_VERSION
    names = {c["metadata"]["name"] for c in crds["items"]}
    # Kong's (every kind of the ingress-controller channel + the incubator's service facade)
    # and the Gateway API's experimental channel, all from the pinned assets.
    assert {
        "ingressclassparameterses.configuration.konghq.com",
        "kongclusterplugins.configuration.konghq.com",
        "kongconsumergroups.configuration.konghq.com",
        "kongconsumers.configuration.konghq.com",
        "kongcustomentities.configuration.konghq.com",
        "kongingresses.configuration.konghq.com",
        "konglicenses.configuration.konghq.com",
        "kongplugins.configuration.konghq.com",
        "kongupstreampolicies.configuration.konghq.com",
        "kongvaults.configuration.konghq.com",
        "tcpingresses.configuration.konghq.com",
        "udpingresses.configuration.konghq.com",
        "kongservicefacades.incubator.ingress-controller.konghq.com",
        "gatewayclasses.gateway.networking.k8s.io",
        "gateways.gateway.networking.k8s.io",
        "httproutes.gateway.networking.k8s.io",
        "grpcroutes.gateway.networking.k8s.io",
        "referencegrants.gateway.networking.k8s.io",
        "tcproutes.gateway.networking.k8s.io",
        "tlsroutes.gateway.networking.k8s.io",
        "udproutes.gateway.networking.k8s.io",
        "backendtlspolicies.gateway.networking.k8s.io",
        "listenersets.gateway.networking.k8s.io",
    } <= names
    assert set(control_plane.crds) <= names
    gw = next(
        c for c in crds["items"] if c["metadata"]["name"] == "gateways.gateway.networking.k8s.io"
    )
    assert gw["metadata"]["annotations"]["gateway.networking.k8s.io/channel"] == "experimental"
    assert (
        gw["metadata"]["annotations"]["gateway.networking.k8s.io/bundle-version"]
        == GATEWAY_API_VERSION
    )


async def test_create_read_and_watch_through_kr8s(api: Any, k8s_namespace: str) -> None:
    ns = k8s_namespace
    with trio.fail_after(60):
        svc = Service(
            {
                "metadata": {"name": "echo", "namespace": ns},
                "spec": {"ports": [{"port": 80, "targetPort": 8080}], "selector": {"app": "echo"}},
            },
            api=api,
        )
        await svc.create()
        ing = Ingress(
            {
                "metadata": {"name": "demo", "namespace": ns},
                "spec": {
                    "ingressClassName": "kong",
                    "rules": [
                        {
                            "host": "example.com",
                            "http": {
                                "paths": [
                                    {
                                        "path": "/",
                                        "pathType": "Prefix",
                                        "backend": {
                                            "service": {"name": "echo", "port": {"number": 80}}
                                        },
                                    }
                                ]
                            },
                        }
                    ],
                },
            },
            api=api,
        )
        await ing.create()
        plugin = KongPlugin(
            {
                "metadata": {"name": "rl", "namespace": ns},
                "plugin": "rate-limiting",
                "config": {"minute": 5},
            },
            api=api,
        )
        await plugin.create()

        got_ing = await Ingress.get("demo", namespace=ns, api=api)
        got_svc = await Service.get("echo", namespace=ns, api=api)
        got_plugin = await KongPlugin.get("rl", namespace=ns, api=api)
        assert got_ing.spec.rules[0].host == "example.com"
        assert got_svc.spec.clusterIP.startswith("10.96.")
        assert got_plugin.raw["config"] == {"minute": 5}

        # A watch from the current resourceVersion sees the update.
        rv = got_ing.metadata.resourceVersion
        send, recv = trio.open_memory_channel[tuple[str, Any]](10)

        async def watch() -> None:
            async for event, obj in api.watch("ingresses", namespace=ns, since=rv):
                await send.send((event, obj))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch)
            await got_ing.patch({"metadata": {"annotations": {"konghq.com/strip-path": "true"}}})
            event, obj = await recv.receive()
            nursery.cancel_scope.cancel()
        assert event == "MODIFIED"
        assert obj.name == "demo"
        assert obj.metadata.annotations["konghq.com/strip-path"] == "true"


async def test_restart_apiserver_keeps_data(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    with trio.fail_after(120):
        async with control_plane.admin_client() as client:
            r = await client.post(
                f"/api/v1/namespaces/{k8s_namespace}/configmaps",
                json={"metadata": {"name": "keep"}, "data": {"k": "v"}},
            )
            assert r.status_code == 201
        port = control_plane.api_port
        await control_plane.restart_apiserver()
        assert control_plane.api_port == port
        async with control_plane.admin_client() as client:
            r = await client.get(f"/api/v1/namespaces/{k8s_namespace}/configmaps/keep")
    assert r.status_code == 200
    assert r.json()["data"] == {"k": "v"}


async def test_added_user_is_subject_to_rbac(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    kubeconfig = control_plane.add_user("alice", ["team-a"])
    with trio.fail_after(60):
        a = kr8s.asyncio.Api(kubeconfig=str(kubeconfig), bypass_factory=True)
        await a.auth
        try:
            with pytest.raises(kr8s.ServerError) as info:
                await Service.get("nope", namespace=k8s_namespace, api=a)
            assert info.value.response is not None
            assert info.value.response.status_code == 403
            assert "alice" in str(info.value)
        finally:
            if a._session is not None:
                await a._session.aclose()


async def test_compaction_expires_old_resource_versions(control_plane: ControlPlane) -> None:
    with trio.fail_after(30):
        before = await control_plane.etcd_revision()
        compacted = await control_plane.compact_etcd()
        async with httpx.AsyncClient() as client:
            r = await client.post(
                f"{control_plane.etcd_url}/v3/kv/range",
                json={"key": "AA==", "revision": str(max(1, before - 1))},
            )
    assert compacted >= before
    # etcd refuses reads below the compacted revision.
    assert r.status_code == 400
    assert "compacted" in r.json()["message"]


def test_blocking_start_stop_cleans_up() -> None:
    cp = ControlPlane(install_crds=False)
    cp.start()
    folder = cp.dir
    try:
        with cp.admin_client_sync() as client:
            r = client.get("/livez")
        assert (r.status_code, r.text) == (200, "ok")
        assert cp.crds == []
    finally:
        cp.stop()
    assert not folder.exists()


async def test_cli_up_prints_kubeconfig_and_cleans_up_on_sigint(
    control_plane: ControlPlane,
) -> None:
    """`python -m kic_trio.testing.controlplane up`: what the demo and other tools rely on."""
    import signal
    import sys

    with trio.fail_after(120):
        proc = await trio.lowlevel.open_process(
            [
                sys.executable,
                "-m",
                "kic_trio.testing.controlplane",
                "up",
                "--crd-dir",
                str(_crd_dir()),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert proc.stdout is not None
            buf = b""
            while b"ETCD_URL=" not in buf:
                chunk = await proc.stdout.receive_some()
                assert chunk, "`up` exited before it was ready"
                buf += chunk
            lines = dict(line.split("=", 1) for line in buf.decode().splitlines() if "=" in line)
            kubeconfig = Path(lines["KUBECONFIG"])
            cfg = _read_yaml(kubeconfig)
            server = cfg["clusters"][0]["cluster"]["server"]
            user = cfg["users"][0]["user"]
            ctx = ssl.create_default_context(
                cafile=cfg["clusters"][0]["cluster"]["certificate-authority"]
            )
            ctx.load_cert_chain(user["client-certificate"], user["client-key"])
            async with httpx.AsyncClient(verify=ctx) as client:
                r = await client.get(f"{server}/apis/configuration.konghq.com/v1")
            assert r.status_code == 200
            proc.send_signal(signal.SIGINT)
            assert await proc.wait() == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            if proc.stdout is not None:
                await proc.stdout.aclose()
    assert not kubeconfig.parent.exists()


def _crd_dir() -> Path:
    from kic_trio.testing.controlplane._assets import kong_crd_dir

    return kong_crd_dir()


def _read_yaml(path: Path) -> Any:
    import yaml

    return yaml.safe_load(path.read_text())


async def test_a_failing_start_reports_the_log_and_cleans_up(control_plane: ControlPlane) -> None:
    cp = ControlPlane(install_crds=False, apiserver_args=["--no-such-flag=1"])
    with trio.fail_after(60):
        with pytest.raises(ControlPlaneError) as info:
            await cp.astart()
    assert "kube-apiserver exited" in str(info.value)
    assert "no-such-flag" in str(info.value)  # the log tail says why
    assert cp._dir is None
    assert cp._etcd is None
