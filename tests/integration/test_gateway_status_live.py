"""GatewayClass and Gateway status on the real API server: the whole controller, FakeKong as
the data plane, an unmanaged class whose Gateways this controller runs (gateway-api.md §2-3).

The class gets ``Accepted``; the Gateway ``Accepted`` and ``Programmed``; each listener its
own conditions; a listener with a missing or bad certificate gets ``InvalidCertificateRef``
while the others stay Programmed; a cross-namespace certificate needs a ReferenceGrant (and is
refused again when the grant goes); attachedRoutes counts the routes attached.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

import httpx
import trio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from _eventually import eventually
from _live_controller import live_config, running
from kic_trio.testing import FakeKong, apply, delete
from kic_trio.testing.controlplane import ControlPlane

GW = "gateway.networking.k8s.io"
CONTROLLER = "konghq.com/kic-gateway-controller"


def _pair() -> tuple[bytes, bytes]:
    import datetime

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gw.example.com")])
    start = datetime.datetime(2025, 1, 1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def tls_secret(name: str, good: bool = True) -> dict[str, Any]:
    cert, key = _pair()
    if not good:
        key = _pair()[1]  # a key that is not the certificate's
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {"name": name},
        "data": {
            "tls.crt": base64.b64encode(cert).decode(),
            "tls.key": base64.b64encode(key).decode(),
        },
    }


def proxy_service() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "proxy"},
        "spec": {
            "ports": [
                {"name": "http", "port": 80, "targetPort": 8000, "protocol": "TCP"},
                {"name": "https", "port": 443, "targetPort": 8443, "protocol": "TCP"},
            ]
        },
    }


def https_listener(name: str, host: str, cert: str, cert_ns: str | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": cert}
    if cert_ns:
        ref["namespace"] = cert_ns
    return {
        "name": name,
        "port": 443,
        "protocol": "HTTPS",
        "hostname": host,
        "tls": {"mode": "Terminate", "certificateRefs": [ref]},
    }


def conds(obj: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(c["type"], c["status"], c["reason"]) for c in obj.get("conditions", ())}


async def get(client: httpx.AsyncClient, path: str) -> dict[str, Any]:
    r = await client.get(path)
    r.raise_for_status()
    out: dict[str, Any] = r.json()
    return out


PROGRAMMED = {
    ("Accepted", "True", "Accepted"),
    ("Conflicted", "False", "NoConflicts"),
    ("ResolvedRefs", "True", "ResolvedRefs"),
    ("Programmed", "True", "Programmed"),
}
INVALID_CERT = {
    ("Accepted", "True", "Accepted"),
    ("ResolvedRefs", "False", "InvalidCertificateRef"),
    ("Programmed", "False", "Invalid"),
}


async def test_gateway_class_gateway_and_listener_conditions(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    other = f"certs-{secrets.token_hex(3)}"
    cls = f"kong-{ns}"
    gw_path = f"/apis/{GW}/v1/namespaces/{ns}/gateways/gw"
    with trio.fail_after(120):
        async with (
            FakeKong(proxy_listeners=((8000, False), (8443, True))) as kong,
            control_plane.admin_client() as client,
        ):
            r = await client.post("/api/v1/namespaces", json={"metadata": {"name": other}})
            assert r.status_code == 201, r.text
            try:
                await apply(
                    client,
                    [proxy_service(), tls_secret("good"), tls_secret("badpair", good=False)],
                    namespace=ns,
                )
                await apply(client, [tls_secret("shared")], namespace=other)
                await apply(
                    client,
                    [
                        {
                            "apiVersion": f"{GW}/v1",
                            "kind": "GatewayClass",
                            "metadata": {
                                "name": cls,
                                "annotations": {"konghq.com/gatewayclass-unmanaged": "true"},
                            },
                            "spec": {"controllerName": CONTROLLER},
                        },
                        {
                            "apiVersion": f"{GW}/v1",
                            "kind": "Gateway",
                            "metadata": {"name": "gw"},
                            "spec": {
                                "gatewayClassName": cls,
                                "listeners": [
                                    {"name": "http", "port": 80, "protocol": "HTTP"},
                                    https_listener("https", "a.example.com", "good"),
                                    https_listener("missing", "b.example.com", "nope"),
                                    https_listener("badpair", "c.example.com", "badpair"),
                                    https_listener("cross", "d.example.com", "shared", other),
                                    {"name": "udp", "port": 5353, "protocol": "UDP"},
                                ],
                            },
                        },
                        {
                            "apiVersion": f"{GW}/v1",
                            "kind": "HTTPRoute",
                            "metadata": {"name": "r"},
                            "spec": {
                                "parentRefs": [{"name": "gw", "sectionName": "http"}],
                                "rules": [
                                    {"matches": [{"path": {"type": "PathPrefix", "value": "/r"}}]}
                                ],
                            },
                        },
                    ],
                    namespace=ns,
                )
                cfg = live_config(
                    control_plane.kubeconfig,
                    [kong.url],
                    ns,
                    watch_namespace=[ns, other],
                    publish_service=f"{ns}/proxy",
                )
                async with running(cfg):

                    async def class_accepted() -> bool:
                        c = await get(client, f"/apis/{GW}/v1/gatewayclasses/{cls}")
                        return ("Accepted", "True", "Accepted") in conds(c.get("status", {}))

                    await eventually(class_accepted, what="GatewayClass Accepted")

                    async def listeners_written() -> dict[str, Any] | None:
                        g = await get(client, gw_path)
                        st = g.get("status", {})
                        ls = {lst["name"]: lst for lst in st.get("listeners", ())}
                        ok = (
                            ("Programmed", "True", "Programmed") in conds(st)
                            and "http" in ls
                            and ls["http"]["attachedRoutes"] == 1
                        )
                        return g if ok else None

                    g = await eventually(listeners_written, what="Gateway status with listeners")
                    st = g["status"]
                    # some listeners are invalid: the spec's Accepted=True/ListenersNotValid
                    assert conds(st) == {
                        ("Accepted", "True", "ListenersNotValid"),
                        ("Programmed", "True", "Programmed"),
                    }
                    gen = g["metadata"]["generation"]
                    assert all(c["observedGeneration"] == gen for c in st["conditions"])
                    assert st["addresses"], "the publish Service's cluster IP"
                    ls = {lst["name"]: lst for lst in st["listeners"]}
                    assert conds(ls["http"]) == PROGRAMMED
                    assert conds(ls["https"]) == PROGRAMMED
                    assert conds(ls["missing"]) == INVALID_CERT
                    assert conds(ls["badpair"]) == INVALID_CERT
                    assert ("ResolvedRefs", "False", "RefNotPermitted") in conds(ls["cross"])
                    assert ("Accepted", "False", "UnsupportedProtocol") in conds(ls["udp"])
                    assert {(k["group"], k["kind"]) for k in ls["http"]["supportedKinds"]} == {
                        (GW, "HTTPRoute"),
                        (GW, "GRPCRoute"),
                    }
                    assert ls["https"]["attachedRoutes"] == 0

                    # a grant in the Secret's namespace lets the Gateway use it ...
                    grant = {
                        "apiVersion": f"{GW}/v1beta1",
                        "kind": "ReferenceGrant",
                        "metadata": {"name": "gw-certs"},
                        "spec": {
                            "from": [{"group": GW, "kind": "Gateway", "namespace": ns}],
                            "to": [{"group": "", "kind": "Secret"}],
                        },
                    }
                    await apply(client, [grant], namespace=other)

                    async def cross(want: set[tuple[str, str, str]]) -> bool:
                        g = await get(client, gw_path)
                        ls = {lst["name"]: lst for lst in g["status"]["listeners"]}
                        return conds(ls["cross"]) == want

                    await eventually(lambda: cross(PROGRAMMED), what="cross listener Programmed")
                    # ... and its removal refuses it again
                    await delete(client, "ReferenceGrant", "gw-certs", other)
                    await eventually(
                        lambda: cross(
                            {
                                ("Accepted", "True", "Accepted"),
                                ("ResolvedRefs", "False", "RefNotPermitted"),
                                ("Programmed", "False", "Invalid"),
                            }
                        ),
                        what="cross listener refused again",
                    )
                    # the bad pair fixed: that listener is Programmed, the others unchanged
                    await apply(client, [tls_secret("badpair")], namespace=ns)

                    async def fixed() -> bool:
                        g = await get(client, gw_path)
                        ls = {lst["name"]: lst for lst in g["status"]["listeners"]}
                        return (
                            conds(ls["badpair"]) == PROGRAMMED
                            and conds(ls["missing"]) == INVALID_CERT
                        )

                    await eventually(fixed, what="fixed certificate Programmed")
            finally:
                await client.delete(f"/apis/{GW}/v1/gatewayclasses/{cls}")
                await client.delete(f"/api/v1/namespaces/{other}")
