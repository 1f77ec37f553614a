"""Live: ``Programmed`` in ``status.conditions`` of KongCustomEntity, KongVault and
KongServiceFacade, as upstream writes it.

A real kube-apiserver (the pinned CRDs, with their ``/status`` subresource), the whole
controller, FakeKong. Objects Kong runs get ``True/Programmed``; an object that fails
translation gets ``False/Invalid`` (its Events say why); fixing it turns it ``True``.
"""

from __future__ import annotations

from typing import Any

import httpx
import trio

from _eventually import eventually
from _live_controller import live_config, running
from k8s_objects import app, ingress
from kic_trio.testing import FakeKong, apply
from kic_trio.testing._apply import delete
from kic_trio.testing.controlplane import ControlPlane
from kic_trio.testing.fakekong._validate import BUNDLED_PLUGINS

ALPHA = "configuration.konghq.com/v1alpha1"
FACADES = "incubator.ingress-controller.konghq.com/v1alpha1"
CLASS = {"kubernetes.io/ingress.class": "kong"}
PROGRAMMED = ("True", "Programmed", "Object was successfully configured in Kong.")
INVALID = (
    "False",
    "Invalid",
    "Object failed to be configured in Kong - see its attached Events for more information.",
)


def custom_entity(name: str, uri: str, *, parent: bool = True) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "controllerName": "kong",
        "type": "degraphql_routes",
        "fields": {"uri": uri, "query": "query{ contacts { name } }"},
    }
    if parent:
        spec["parentRef"] = {
            "group": "configuration.konghq.com",
            "kind": "KongPlugin",
            "name": "gql",
        }
    return {
        "apiVersion": ALPHA,
        "kind": "KongCustomEntity",
        "metadata": {"name": name},
        "spec": spec,
    }


def vault(name: str, prefix: str) -> dict[str, Any]:
    return {
        "apiVersion": ALPHA,
        "kind": "KongVault",
        "metadata": {"name": name, "annotations": CLASS},
        "spec": {"backend": "env", "prefix": prefix, "config": {"prefix": "SECRET_"}},
    }


def facade_objects() -> list[dict[str, Any]]:
    facade = {
        "apiVersion": FACADES,
        "kind": "KongServiceFacade",
        "metadata": {"name": "front", "annotations": CLASS},
        "spec": {"backendRef": {"name": "back", "port": 80}},
    }
    ing = ingress("via-facade", "facade.example.com")
    path = ing["spec"]["rules"][0]["http"]["paths"][0]
    path["backend"] = {
        "resource": {
            "apiGroup": "incubator.ingress-controller.konghq.com",
            "kind": "KongServiceFacade",
            "name": "front",
        }
    }
    return [*app("back", "back.example.com"), facade, ing]


async def programmed(client: httpx.AsyncClient, path: str) -> tuple[str, str, str] | None:
    r = await client.get(path)
    r.raise_for_status()
    conds = [
        c for c in r.json().get("status", {}).get("conditions", []) if c["type"] == "Programmed"
    ]
    if not conds:
        return None
    [c] = conds
    assert c["lastTransitionTime"]
    return c["status"], c["reason"], c["message"]


async def becomes(client: httpx.AsyncClient, path: str, want: tuple[str, str, str]) -> None:
    async def check() -> bool:
        return await programmed(client, path) == want

    await eventually(check, interval=0.1, what=f"{path}: Programmed {want[0]}")


async def test_kong_kinds_get_programmed_true_or_invalid_and_recover(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    vault_name = f"{ns}-vault"
    plugin = {
        "apiVersion": "configuration.konghq.com/v1",
        "kind": "KongPlugin",
        "metadata": {"name": "gql"},
        "plugin": "degraphql",
        "config": {"graphql_server_path": "/v1/graphql"},
    }
    kce = f"/apis/configuration.konghq.com/v1alpha1/namespaces/{ns}/kongcustomentities"
    with trio.fail_after(120):
        async with (
            FakeKong(enabled_plugins=BUNDLED_PLUGINS | {"degraphql"}) as kong,
            control_plane.admin_client() as client,
        ):
            try:
                objects = [
                    *app("web", "web.example.com", annotations={"konghq.com/plugins": "gql"}),
                    plugin,
                    custom_entity("good", "/contacts"),
                    # no parent plugin, so no service, which Kong requires: a translation
                    # failure on the object
                    custom_entity("bad", "/b", parent=False),
                    vault(vault_name, f"{ns}-p"),
                    *facade_objects(),
                ]
                await apply(client, objects, namespace=ns)
                cfg = live_config(
                    control_plane.kubeconfig,
                    [kong.url],
                    ns,
                    feature_gates={"KongServiceFacade": True},
                )
                async with running(cfg):
                    await becomes(client, f"{kce}/good", PROGRAMMED)
                    await becomes(client, f"{kce}/bad", INVALID)
                    await becomes(
                        client,
                        f"/apis/configuration.konghq.com/v1alpha1/kongvaults/{vault_name}",
                        PROGRAMMED,
                    )
                    await becomes(
                        client,
                        f"/apis/incubator.ingress-controller.konghq.com/v1alpha1/namespaces/{ns}"
                        "/kongservicefacades/front",
                        PROGRAMMED,
                    )
                    assert kong.config.get("vaults") and kong.config.get("degraphql_routes")
                    # the author fixes the bad one: it turns Programmed
                    await apply(
                        client,
                        [custom_entity("bad", "/b")],
                        namespace=ns,
                    )
                    await becomes(client, f"{kce}/bad", PROGRAMMED)
            finally:
                await delete(client, "KongVault", vault_name)
