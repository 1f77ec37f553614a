"""The admission webhook called by the real kube-apiserver, through a ValidatingWebhookConfiguration.

The controller serves the webhook on ``https://127.0.0.1:<port 0>`` with a certificate from a
throw-away CA; the configuration names that URL and the CA as its ``caBundle``, and selects only
the test's namespace (several tests share one control plane). Writes go through the API, as a
user's ``kubectl apply`` would: a bad KongPlugin is refused with the webhook's message, a valid
one is stored; with nothing listening, ``failurePolicy: Fail`` refuses and ``Ignore`` allows.
"""

from __future__ import annotations

import base64
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
import yaml

import kic_trio
from kic_trio.testing import FakeKong
from kic_trio.testing.controlplane import ControlPlane
from kic_trio.testing.fakekong import TestCA

pytestmark = pytest.mark.integration

VWC = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"
PLUGINS = "/apis/configuration.konghq.com/v1/namespaces/{ns}/kongplugins"


def _plugin(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "configuration.konghq.com/v1",
        "kind": "KongPlugin",
        "metadata": {"name": name},
        **spec,
    }


def _missing_secret_plugin(name: str) -> dict[str, Any]:
    # Kong cannot be given this plugin: its configuration comes from a Secret that does not exist
    return _plugin(
        name, plugin="rate-limiting", configFrom={"secretKeyRef": {"name": "nowhere", "key": "k"}}
    )


def _webhook_config(
    name: str, namespace: str, url: str, ca_pem: str, policy: str
) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": name},
        "webhooks": [
            {
                "name": f"validations.{namespace}.kic-trio.test",
                "clientConfig": {
                    "url": url,
                    "caBundle": base64.b64encode(ca_pem.encode()).decode(),
                },
                "rules": [
                    {
                        "apiGroups": ["configuration.konghq.com"],
                        "apiVersions": ["*"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["kongplugins", "kongclusterplugins", "kongconsumers"],
                    },
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["secrets"],
                    },
                    {
                        "apiGroups": ["networking.k8s.io"],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["ingresses"],
                    },
                ],
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
                "failurePolicy": policy,
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
                "timeoutSeconds": 5,
            }
        ],
    }


@asynccontextmanager
async def _registered(client: httpx.AsyncClient, body: dict[str, Any]) -> AsyncIterator[None]:
    r = await client.post(VWC, json=body)
    r.raise_for_status()
    try:
        yield
    finally:
        await client.delete(f"{VWC}/{body['metadata']['name']}")


async def _until(check: Callable[[], Awaitable[bool]]) -> None:
    """Poll through the API until ``check`` holds: the API server picks a new webhook
    configuration up asynchronously (the caller's fail_after bounds this)."""
    while not await check():
        await trio.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _config(kubeconfig: Path, kong: FakeKong, namespace: str, ca: TestCA) -> kic_trio.Config:
    pair = ca.issue("kic-trio admission webhook", ips=("127.0.0.1",))
    return kic_trio.Config(
        kubeconfig=str(kubeconfig),
        kong_admin_url=[kong.url],
        watch_namespace=[namespace],
        health_probe_bind_address="127.0.0.1:0",
        metrics_bind_address="127.0.0.1:0",
        proxy_sync_seconds=0.2,
        kong_admin_init_retries=5,
        kong_admin_init_retry_delay=0.2,
        admission_webhook_listen="127.0.0.1:0",
        admission_webhook_cert=pair.cert_pem,
        admission_webhook_key=pair.key_pem,
    )


async def test_api_server_refuses_a_bad_kongplugin_with_the_webhooks_message(
    control_plane: ControlPlane, kubeconfig: Path, k8s_namespace: str
) -> None:
    ca = TestCA("kic-trio admission test CA")
    ns = k8s_namespace
    with trio.fail_after(120):
        async with (
            FakeKong() as kong,
            control_plane.admin_client() as client,
            trio.open_nursery() as nursery,
        ):
            controller: kic_trio.Controller = await nursery.start(
                kic_trio.run, _config(kubeconfig, kong, ns, ca)
            )
            assert controller.admission_address is not None
            host, port = controller.admission_address
            await controller.wait_ready()
            vwc = _webhook_config(
                f"{ns}-kic-trio", ns, f"https://{host}:{port}/", ca.cert_pem, "Fail"
            )
            async with _registered(client, vwc):
                refused: list[httpx.Response] = []

                async def bad_is_refused() -> bool:
                    r = await client.post(PLUGINS.format(ns=ns), json=_missing_secret_plugin("bad"))
                    if r.status_code == 201:  # not picked up yet: undo and retry
                        await client.delete(f"{PLUGINS.format(ns=ns)}/bad")
                        return False
                    refused.append(r)
                    return True

                await _until(bad_is_refused)
                answer = refused[-1]
                assert answer.status_code == 400, answer.text
                message = answer.json()["message"]
                assert f"validations.{ns}.kic-trio.test" in message
                assert "denied the request" in message
                assert f"KongPlugin {ns}/bad would not be configured in Kong" in message
                assert "plugin configuration" in message and "nowhere" in message
                # nothing was stored
                r = await client.get(f"{PLUGINS.format(ns=ns)}/bad")
                assert r.status_code == 404

                # a valid one passes and is stored
                good = _plugin("good", plugin="key-auth", config={"key_names": ["apikey"]})
                r = await client.post(PLUGINS.format(ns=ns), json=good)
                assert r.status_code == 201, r.text
                # an update that breaks it is refused too
                stored = r.json()
                stored.pop("config")
                stored["configFrom"] = {"secretKeyRef": {"name": "nowhere", "key": "k"}}
                r = await client.put(f"{PLUGINS.format(ns=ns)}/good", json=stored)
                assert r.status_code == 400 and "nowhere" in r.json()["message"], r.text

                # a consumer whose credential Secret is missing is refused; once the Secret
                # exists (not yet in the controller's store: nothing referenced it), it passes
                consumers = f"/apis/configuration.konghq.com/v1/namespaces/{ns}/kongconsumers"
                alice = {
                    "apiVersion": "configuration.konghq.com/v1",
                    "kind": "KongConsumer",
                    "metadata": {
                        "name": "alice",
                        "annotations": {"kubernetes.io/ingress.class": "kong"},
                    },
                    "username": "alice",
                    "credentials": ["alice-key"],
                }
                r = await client.post(consumers, json=alice)
                assert r.status_code == 400 and "alice-key" in r.json()["message"], r.text
                secret = {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": "alice-key"},
                    "stringData": {"kongCredType": "key-auth", "key": "alice-secret-value"},
                }
                r = await client.post(f"/api/v1/namespaces/{ns}/secrets", json=secret)
                assert r.status_code == 201, r.text
                r = await client.post(consumers, json=alice)
                assert r.status_code == 201, r.text
                assert "alice-secret-value" not in r.text

                # an Ingress annotation the translator would ignore is refused, naming it
                ingresses = f"/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses"
                ing = {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "Ingress",
                    "metadata": {
                        "name": "web",
                        "annotations": {"konghq.com/strip-path": "sometimes"},
                    },
                    "spec": {
                        "ingressClassName": "kong",
                        "rules": [
                            {
                                "host": "web.example.com",
                                "http": {
                                    "paths": [
                                        {
                                            "path": "/",
                                            "pathType": "Prefix",
                                            "backend": {
                                                "service": {"name": "web", "port": {"number": 80}}
                                            },
                                        }
                                    ]
                                },
                            }
                        ],
                    },
                }
                r = await client.post(ingresses, json=ing)
                assert r.status_code == 400, r.text
                assert "konghq.com/strip-path" in r.json()["message"]
                # fixed, it passes although its Service does not exist yet (any order of apply)
                ing["metadata"]["annotations"]["konghq.com/strip-path"] = "true"
                r = await client.post(ingresses, json=ing)
                assert r.status_code == 201, r.text
            nursery.cancel_scope.cancel()
        # cancelling run() closed the webhook's listener too
        with pytest.raises(OSError):
            await trio.open_tcp_stream(host, port)


@pytest.mark.parametrize("policy", ["Fail", "Ignore"])
async def test_webhook_down_fails_closed_or_open_as_configured(
    control_plane: ControlPlane, k8s_namespace: str, policy: str
) -> None:
    ca = TestCA("kic-trio admission test CA")
    ns = k8s_namespace
    url = f"https://127.0.0.1:{_free_port()}/"  # nothing listens there
    name = f"{ns}-down"
    with trio.fail_after(90):
        # Fail first: once a write is refused, the configuration is known to be in force
        async with (
            control_plane.admin_client() as client,
            _registered(client, _webhook_config(name, ns, url, ca.cert_pem, "Fail")),
        ):
            answers: list[httpx.Response] = []

            async def refused() -> bool:
                resp = await client.post(
                    PLUGINS.format(ns=ns), json=_plugin("q", plugin="key-auth")
                )
                if resp.status_code == 201:
                    await client.delete(f"{PLUGINS.format(ns=ns)}/q")
                    return False
                answers.append(resp)
                return True

            await _until(refused)
            assert answers[-1].status_code == 500, answers[-1].text
            assert "failed calling webhook" in answers[-1].json()["message"]
            if policy == "Ignore":
                # the same unreachable webhook, now failing open: writes go through
                r = await client.patch(
                    f"{VWC}/{name}",
                    json=[
                        {"op": "replace", "path": "/webhooks/0/failurePolicy", "value": "Ignore"}
                    ],
                    headers={"content-type": "application/json-patch+json"},
                )
                r.raise_for_status()

                async def allowed() -> bool:
                    resp = await client.post(
                        PLUGINS.format(ns=ns), json=_plugin("q", plugin="key-auth")
                    )
                    return resp.status_code == 201

                await _until(allowed)
                r = await client.get(f"{PLUGINS.format(ns=ns)}/q")
                assert r.status_code == 200


MANIFEST = Path(__file__).resolve().parents[2] / "deploy" / "admission-webhook.yaml"


async def test_deploy_manifest_is_accepted_by_the_api_server(control_plane: ControlPlane) -> None:
    ca = TestCA("kic-trio admission test CA")
    text = (await trio.Path(MANIFEST).read_text()).replace(
        "<base64 of tls.crt>", base64.b64encode(ca.cert_pem.encode()).decode()
    )
    docs = [d for d in yaml.safe_load_all(text) if d]
    (vwc,) = [d for d in docs if d["kind"] == "ValidatingWebhookConfiguration"]
    with trio.fail_after(30):
        async with control_plane.admin_client() as client:
            r = await client.post(VWC, params={"dryRun": "All"}, json=vwc)
    assert r.status_code == 201, r.text
    names = [w["name"] for w in r.json()["webhooks"]]
    assert names == ["validations.kong.konghq.com", "secrets.validations.kong.konghq.com"]
