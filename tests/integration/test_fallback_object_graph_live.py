"""Live: the controller's fallback leaves out exactly what Kong refused and its dependants,
as upstream's object graph has them — including a dependency no Kong entity shows.

A real kube-apiserver, the whole controller, FakeKong refusing one key-auth credential. The
credential comes from a Secret that also configures a rate-limiting KongPlugin
(``configFrom``); the plugin's Kong entity carries only the KongPlugin's tags, so only the
object graph built from the store's models (``kong/_dependencies.py``) knows that the plugin,
and the Ingress it limits, depend on the refused Secret. Upstream leaves out the Secret, the
KongConsumer using it, the KongPlugin configured from it and the Ingress using the plugin;
everything else is served.
"""

from __future__ import annotations

from typing import Any

import httpx
import trio

from _eventually import eventually
from _live_controller import live_config, running
from k8s_objects import app
from kic_trio._lifecycle import ConfigApplied, PushFailed
from kic_trio.testing import FakeKong, apply
from kic_trio.testing.controlplane import ControlPlane

REFUSED_KEY = "refused-key"


def objects() -> list[dict[str, Any]]:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "shared", "labels": {"konghq.com/credential": "key-auth"}},
        "stringData": {"key": REFUSED_KEY, "config": '{"minute": 5}'},
    }
    consumer = {
        "apiVersion": "configuration.konghq.com/v1",
        "kind": "KongConsumer",
        "metadata": {"name": "alice", "annotations": {"kubernetes.io/ingress.class": "kong"}},
        "username": "alice",
        "credentials": ["shared"],
    }
    plugin = {
        "apiVersion": "configuration.konghq.com/v1",
        "kind": "KongPlugin",
        "metadata": {"name": "limit"},
        "plugin": "rate-limiting",
        "configFrom": {"secretKeyRef": {"name": "shared", "key": "config"}},
    }
    limited = app("limited", "limited.example.com", annotations={"konghq.com/plugins": "limit"})
    return [secret, consumer, plugin, *limited]


def hosts(config: dict[str, Any]) -> set[str]:
    return {
        h
        for svc in config.get("services", [])
        for r in svc.get("routes", [])
        for h in r.get("hosts", [])
    }


async def warnings_on(
    client: httpx.AsyncClient, namespace: str, kind: str, name: str
) -> list[dict[str, Any]]:
    r = await client.get(f"/api/v1/namespaces/{namespace}/events")
    r.raise_for_status()
    return [
        e
        for e in r.json()["items"]
        if e["type"] == "Warning"
        and e["reason"] == "KongConfigurationApplyFailed"
        and (e["involvedObject"]["kind"], e["involvedObject"]["name"]) == (kind, name)
    ]


async def test_a_refused_secret_takes_out_exactly_its_dependants_through_the_object_graph(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    with trio.fail_after(120):
        async with FakeKong() as kong, control_plane.admin_client() as client:
            kong.reject_entities = [("keyauth_credentials", {"key": REFUSED_KEY})]
            await apply(client, app("open", "open.example.com"), namespace=ns)
            await apply(client, objects(), namespace=ns)
            cfg = live_config(control_plane.kubeconfig, [kong.url], ns)
            async with running(cfg) as controller, controller.subscribe() as lifecycle:
                refused: PushFailed | None = None
                applied: ConfigApplied | None = None
                while applied is None:
                    e = await lifecycle.receive()
                    if isinstance(e, PushFailed) and e.status == 400:
                        refused = e
                    elif isinstance(e, ConfigApplied) and refused is not None:
                        applied = e
                assert refused is not None
                # exactly the refused Secret and its dependants in upstream's graph
                assert sorted(str(r) for r in applied.left_out) == sorted(
                    [
                        f"Secret {ns}/shared",
                        f"KongConsumer {ns}/alice",
                        f"KongPlugin {ns}/limit",
                        f"Ingress {ns}/limited",
                    ]
                )
                # the rest is served; nothing of the left-out objects is
                served = kong.config
                assert hosts(served) == {"open.example.com"}
                assert "consumers" not in served and "plugins" not in served
                # a Warning Event names the refused object
                [event] = await eventually(
                    lambda: warnings_on(client, ns, "Secret", "shared"), interval=0.1
                )
                assert REFUSED_KEY not in event["message"]  # a credential never in an Event
