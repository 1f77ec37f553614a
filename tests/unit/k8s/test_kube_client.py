"""KubeClient: error mapping, per-instance isolation, kr8s temp files removed, SA namespace."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import httpx
import pytest
import trio
import yaml

from kic_trio._errors import KubernetesError
from kic_trio.k8s import KubeClient, open_kube_client
from kic_trio.testing.controlplane._certs import CertAuthority


def _exists(path: object) -> bool:
    return os.path.exists(str(path))


class Cfg:
    def __init__(self, kubeconfig: str | None = None, apiserver_host: str | None = None) -> None:
        self.kubeconfig = kubeconfig
        self.apiserver_host = apiserver_host


def kubeconfig_with_data(tmp_path: Path) -> Path:
    """A kubeconfig with embedded (``*-data``) credentials, as most clusters hand out."""
    ca = CertAuthority.create(tmp_path)
    pair = ca.issue_client("tester", ["devs"])
    b64 = lambda p: base64.b64encode(p.read_bytes()).decode()  # noqa: E731
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "c",
                "cluster": {
                    "server": "https://127.0.0.1:1",
                    "certificate-authority-data": b64(ca.cert_path),
                },
            }
        ],
        "users": [
            {
                "name": "u",
                "user": {
                    "client-certificate-data": b64(pair.cert),
                    "client-key-data": b64(pair.key),
                },
            }
        ],
        "contexts": [
            {"name": "x", "context": {"cluster": "c", "user": "u", "namespace": "team-a"}}
        ],
        "current-context": "x",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    return path


async def test_each_client_is_its_own_and_leaves_no_key_files(tmp_path: Path) -> None:
    path = kubeconfig_with_data(tmp_path)
    with trio.fail_after(30):
        async with open_kube_client(Cfg(str(path)), service_account_dir=tmp_path / "no-sa") as one:
            files = [
                one.api.auth.client_key_file,
                one.api.auth.client_cert_file,
                one.api.auth.server_ca_file,
            ]
            assert all(files)
            # kr8s wrote the *-data fields to temp files; they are gone once loaded.
            assert not any(_exists(f) for f in files)
            assert one.namespace == "team-a"
            async with open_kube_client(
                Cfg(str(path)), service_account_dir=tmp_path / "no-sa"
            ) as two:
                assert two.api is not one.api
                assert two.http is not one.http
            # closing the second did not close the first
            assert not one.http.is_closed
        with pytest.raises(KubernetesError):
            _ = one.http


async def test_errors_map_to_kubernetes_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/missing":
            return httpx.Response(
                404, json={"kind": "Status", "message": 'leases "x" not found', "code": 404}
            )
        if request.url.path == "/boom":
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={"ok": True})

    kube = KubeClient(api=None, namespace="default", sa_dir=None)
    kube._client = httpx.AsyncClient(
        base_url="https://k8s.test", transport=httpx.MockTransport(handler)
    )
    with trio.fail_after(10):
        assert (await kube.request("GET", "/fine")).json() == {"ok": True}
        with pytest.raises(KubernetesError) as info:
            await kube.request("GET", "/missing")
        assert info.value.status == 404
        assert 'leases "x" not found' in str(info.value)
        with pytest.raises(KubernetesError) as info:
            await kube.request("GET", "/boom")
        assert info.value.status is None
        assert isinstance(info.value.__cause__, httpx.ConnectError)
        with pytest.raises(KubernetesError) as info:
            async with kube.stream("GET", "/missing"):
                pass
        assert info.value.status == 404
        await kube.http.aclose()


async def test_in_cluster_reads_the_service_account_namespace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sa = tmp_path / "sa"
    sa.mkdir()
    ca = CertAuthority.create(tmp_path)
    (sa / "ca.crt").write_bytes(ca.cert_path.read_bytes())
    (sa / "token").write_text("tok-1")
    (sa / "namespace").write_text("kong-system")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "1")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    with trio.fail_after(30):
        async with open_kube_client(Cfg(), service_account_dir=sa) as kube:
            assert kube.namespace == "kong-system"
            assert kube.server == "https://127.0.0.1:1"
            assert kube.http.headers["Authorization"] == "Bearer tok-1"
