"""Security: TLS verification of the Admin API is on by default, and secrets — the admin
token, Secret values, private keys — never show up in logs (every record, at trace level),
Kubernetes Events, the probe and metrics endpoints, lifecycle events or reprs."""

from __future__ import annotations

import base64
import logging
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from _reliability import capture_all_logs, controller_config, list_events

import kic_trio
from kic_trio.testing import FakeKong, apply
from kic_trio.testing.controlplane import ControlPlane
from kic_trio.testing.fakekong._tls import TestCA


def app(name: str, host: str, *, tls_secret: str | None = None) -> list[dict[str, Any]]:
    spec: dict[str, Any] = {
        "ingressClassName": "kong",
        "rules": [
            {
                "host": host,
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": name, "port": {"number": 80}}},
                        }
                    ]
                },
            }
        ],
    }
    if tls_secret:
        spec["tls"] = [{"hosts": [host], "secretName": tls_secret}]
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name},
            "spec": {"ports": [{"name": "http", "port": 80, "protocol": "TCP"}]},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": name},
            "spec": spec,
        },
    ]


def hosts_in(config: dict[str, Any]) -> set[str]:
    return {
        h
        for svc in config.get("services", [])
        for r in svc.get("routes", [])
        for h in r.get("hosts", [])
    }


async def test_admin_api_tls_is_verified_by_default(
    control_plane: ControlPlane, kubeconfig: Path, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    with trio.fail_after(90):
        async with control_plane.admin_client() as admin, FakeKong(tls=True) as kong:
            await apply(admin, app("web", "web.example.com"), namespace=ns)
            base = {
                "kong_admin_url": [kong.url],
                "watch_namespace": [ns],
                "kong_admin_init_retries": 2,
                "kong_admin_init_retry_delay": 0.1,
            }
            assert kong.url.startswith("https://")

            # default: the self-signed gateway is refused, and nothing is ever sent to it
            with pytest.raises(kic_trio.KicTrioError) as info:
                await kic_trio.run(controller_config(kubeconfig, **base))
            assert "certificate" in str(info.value).lower() or "ssl" in str(info.value).lower()
            assert kong.config_posts() == []
            assert kong.requests == []  # the TLS handshake failed: no HTTP request at all

            # with its CA: configured
            for extra in (
                {"kong_admin_ca_cert": kong.ca_pem},
                {"kong_admin_tls_skip_verify": True},
            ):
                kong.restart_empty()
                async with trio.open_nursery() as nursery:
                    c = await nursery.start(
                        kic_trio.run, controller_config(kubeconfig, **base, **extra)
                    )
                    await c.wait_ready()  # ready = a first configuration was applied
                    await kong.wait_for(lambda k: "web.example.com" in hosts_in(k.config))
                    assert c.applied_hashes() == {kong.url.rstrip("/"): c.latest_config.sha}
                    nursery.cancel_scope.cancel()

            # a CA that did not sign the gateway's certificate is refused too
            other = TestCA()
            with pytest.raises(kic_trio.KicTrioError):
                await kic_trio.run(
                    controller_config(kubeconfig, **base, kong_admin_ca_cert=other.cert_pem)
                )


async def test_secrets_never_reach_logs_events_or_debug_output(
    control_plane: ControlPlane, kubeconfig: Path, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    token = "tok-" + secrets.token_urlsafe(24)
    key_value = "key-" + secrets.token_urlsafe(18)
    conflict_value = "dup-" + secrets.token_urlsafe(18)
    password = "pw-" + secrets.token_urlsafe(18)
    bad_ttl_key = "ttl-" + secrets.token_urlsafe(18)
    plugin_secret = "plg-" + secrets.token_urlsafe(18)
    unreferenced = "unref-" + secrets.token_urlsafe(18)
    pair = TestCA().issue("tls.example.com", dns=("tls.example.com",))
    key_body = "".join(pair.key_pem.strip().splitlines()[1:-1])[:64]  # a slice of the PEM body
    needles = {
        "admin token": token,
        "key-auth key": key_value,
        "conflicting key": conflict_value,
        "basic-auth password": password,
        "key with a bad ttl": bad_ttl_key,
        "plugin config secret": plugin_secret,
        "unreferenced Secret": unreferenced,
        "TLS private key": key_body,
    }
    # Secret data travels base64-encoded too
    needles.update(
        {f"{k} (base64)": base64.b64encode(v.encode()).decode() for k, v in list(needles.items())}
    )

    def cred(name: str, kind: str, data: dict[str, str]) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "labels": {"konghq.com/credential": kind}},
            "stringData": data,
        }

    def consumer(name: str, creds: list[str], **extra: Any) -> dict[str, Any]:
        return {
            "apiVersion": "configuration.konghq.com/v1",
            "kind": "KongConsumer",
            "metadata": {
                "name": name,
                "annotations": {"kubernetes.io/ingress.class": "kong", **extra},
            },
            "username": name,
            "credentials": creds,
        }

    objects: list[dict[str, Any]] = [
        *app("web", "web.example.com"),
        *app("tls", "tls.example.com", tls_secret="tls-cert"),
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "tls-cert"},
            "type": "kubernetes.io/tls",
            "stringData": {"tls.crt": pair.cert_pem, "tls.key": pair.key_pem},
        },
        cred("alice-key", "key-auth", {"key": key_value}),
        cred("alice-basic", "basic-auth", {"username": "alice", "password": password}),
        cred("bob-ttl", "key-auth", {"key": bad_ttl_key, "ttl": "soon"}),
        cred("dup-a", "key-auth", {"key": conflict_value}),
        cred("dup-b", "key-auth", {"key": conflict_value}),
        consumer("alice", ["alice-key", "alice-basic"]),
        consumer("bob", ["bob-ttl"]),
        consumer("carol", ["dup-a"]),
        consumer("dave", ["dup-b"]),
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "plugin-conf"},
            "stringData": {"config": f'{{"add": {{"headers": ["x-secret:{plugin_secret}"]}}}}'},
        },
        {
            "apiVersion": "configuration.konghq.com/v1",
            "kind": "KongPlugin",
            "metadata": {"name": "secret-conf"},
            "plugin": "response-transformer",
            "configFrom": {"secretKeyRef": {"name": "plugin-conf", "key": "config"}},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "not-for-kong"},
            "stringData": {"password": unreferenced},
        },
    ]
    objects[1]["metadata"]["annotations"] = {"konghq.com/plugins": "secret-conf"}

    with trio.fail_after(90), capture_all_logs() as logs:
        async with (
            control_plane.admin_client() as admin,
            FakeKong(admin_token=token) as kong,
            trio.open_nursery() as nursery,
        ):
            await apply(admin, objects, namespace=ns)
            cfg = controller_config(
                kubeconfig,
                kong_admin_url=[kong.url],
                watch_namespace=[ns],
                kong_admin_token=token,
                log_level="trace",
                pod_name="kic-under-test",
                pod_namespace=ns,
            )
            lifecycle: list[Any] = []
            controller: kic_trio.Controller = await nursery.start(kic_trio.run, cfg)

            async def collect() -> None:
                async with controller.subscribe() as stream:
                    async for event in stream:
                        lifecycle.append(event)

            nursery.start_soon(collect)

            def configured(k: FakeKong) -> bool:
                users = {c.get("username") for c in k.config.get("consumers", [])}
                return {"alice", "bob"} <= users and "tls.example.com" in hosts_in(k.config)

            await kong.wait_for(configured)
            # the secrets did reach Kong (so a leak would have had every chance to happen)
            body = str(kong.config)
            assert key_value in body and password in body and plugin_secret in body

            # the token stops working for a while: the 401s are logged, the token is not
            kong.admin_token = "rotated-" + secrets.token_urlsafe(8)
            await apply(admin, app("web", "web2.example.com")[1:], namespace=ns)
            await kong.wait_for(lambda k: any(r.status == 401 for r in k.config_posts()))
            kong.admin_token = token
            await kong.wait_for(lambda k: "web2.example.com" in hosts_in(k.config))

            # let Events be written
            with trio.move_on_after(20):
                while True:
                    events = await list_events(admin, ns)
                    reasons = {e.get("reason") for e in events}
                    if {
                        "KongConfigurationTranslationFailed",
                        "KongConfigurationApplyFailed",
                    } <= reasons:
                        break
                    await trio.sleep(0.3)
            events = await list_events(admin, ns)
            assert any(e.get("reason") == "KongConfigurationTranslationFailed" for e in events)

            async with httpx.AsyncClient() as http:
                debug = {
                    path: (await http.get(f"http://127.0.0.1:{port}{path}")).text
                    for port, path in (
                        (controller.probe_port, "/healthz"),
                        (controller.probe_port, "/readyz"),
                        (controller.metrics_port, "/metrics"),
                    )
                }
            reprs = {
                "controller": repr(controller),
                "config": repr(cfg),
                "latest_config": repr(controller.latest_config),
                "lifecycle events": "\n".join(repr(e) for e in lifecycle),
            }
            nursery.cancel_scope.cancel()

    assert len(logs.records) > 50, "the log capture saw (almost) nothing"
    # trace is on: the capture saw the chatty levels too, not just warnings
    assert any(r.levelno <= logging.DEBUG for r in logs.records), "no debug/trace records"
    leaks = []
    event_text = "\n".join(f"{e.get('reason')}: {e.get('message')}" for e in events)
    for what, needle in needles.items():
        for line in logs.find(needle)[:3]:
            leaks.append(f"{what} in a log record: {line[:300]}")
        if needle in event_text:
            leaks.append(f"{what} in an Event")
        for path, text in debug.items():
            if needle in text:
                leaks.append(f"{what} in {path}")
        for name, text in reprs.items():
            if needle in text:
                leaks.append(f"{what} in repr({name})")
    assert not leaks, "\n".join(leaks)
