"""Errors from the kube edge say what failed: the server and the TLS (or socket) reason.

Before, a TLS failure was logged as an empty ``ConnectError: `` (httpx on Trio wraps trio's
text-less ``BrokenResourceError``). A real TLS server on loopback presents a certificate from
a CA the client does not trust; the error must name the server and the verification failure.
"""

from __future__ import annotations

import base64
import socket
import ssl
from pathlib import Path

import pytest
import trio
import yaml

from kic_trio._errors import KubernetesError
from kic_trio.k8s import open_kube_client
from kic_trio.testing.controlplane._certs import CertAuthority


class Cfg:
    def __init__(self, kubeconfig: str) -> None:
        self.kubeconfig = kubeconfig
        self.apiserver_host = None


def _kubeconfig(tmp_path: Path, server: str, trusted_ca: Path) -> Path:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "c",
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(
                        trusted_ca.read_bytes()
                    ).decode(),
                },
            }
        ],
        "users": [{"name": "u", "user": {"token": "tok-not-shown"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    return path


async def _serve_tls(listeners: list[trio.SSLListener[trio.SocketStream]]) -> None:
    async def handle(stream: trio.SSLStream[trio.SocketStream]) -> None:
        try:
            await stream.do_handshake()
        except trio.BrokenResourceError:
            return  # the client refused our certificate: what the test wants
        await stream.aclose()

    await trio.serve_listeners(handle, listeners)


async def test_untrusted_server_certificate_is_named_in_the_error(tmp_path: Path) -> None:
    for sub in ("server-ca", "other-ca"):
        (tmp_path / sub).mkdir()
    server_ca = CertAuthority.create(tmp_path / "server-ca")
    other_ca = CertAuthority.create(tmp_path / "other-ca")  # what the client trusts
    pair = server_ca.issue_server()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(pair.cert), str(pair.key))
    with trio.fail_after(30):
        listeners = await trio.open_ssl_over_tcp_listeners(0, ctx, host="127.0.0.1")
        port = listeners[0].transport_listener.socket.getsockname()[1]
        kubeconfig = _kubeconfig(tmp_path, f"https://127.0.0.1:{port}", other_ca.cert_path)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_serve_tls, listeners)
            async with open_kube_client(
                Cfg(str(kubeconfig)), service_account_dir=tmp_path / "no-sa"
            ) as kube:
                with pytest.raises(KubernetesError) as info:
                    await kube.request("GET", "/version")
            nursery.cancel_scope.cancel()
    text = str(info.value)
    assert f"https://127.0.0.1:{port}" in text
    assert "TLS certificate verification failed" in text
    # OpenSSL's verify message (both test CAs share a subject: "certificate signature failure")
    detail = text.split("TLS certificate verification failed (", 1)[1]
    assert detail.rstrip(")").strip()
    assert not text.rstrip().endswith(":")
    assert "tok-not-shown" not in text
    assert info.value.status is None


async def test_refused_connection_says_so(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ca = CertAuthority.create(tmp_path)
    kubeconfig = _kubeconfig(tmp_path, f"https://127.0.0.1:{port}", ca.cert_path)
    with trio.fail_after(30):
        async with open_kube_client(
            Cfg(str(kubeconfig)), service_account_dir=tmp_path / "no-sa"
        ) as kube:
            with pytest.raises(KubernetesError) as info:
                await kube.request("GET", "/version")
    text = str(info.value)
    assert f"https://127.0.0.1:{port}" in text
    assert text.split(": ", 1)[1].strip()  # a reason after the request line
    assert "refused" in text.lower() or "connect" in text.lower()
