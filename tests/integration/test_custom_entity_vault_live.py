"""KongCustomEntity and KongVault live: a real kube-apiserver, the whole controller, FakeKong.

Create, update and delete of each kind reach Kong's configuration: a ``degraphql_routes``
entity attached to the Kong service its parent plugin is on, and a vault per KongVault.
KongVault is cluster-scoped, so the test names it after its namespace and deletes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio

import kic_trio
from _live_controller import live_config, running
from k8s_objects import app
from kic_trio.testing import FakeKong, apply
from kic_trio.testing._apply import delete
from kic_trio.testing.controlplane import ControlPlane
from kic_trio.testing.fakekong._validate import BUNDLED_PLUGINS


def _config(kubeconfig: Path, url: str, namespace: str) -> kic_trio.Config:
    return live_config(kubeconfig, [url], namespace)


def _kce(uri: str) -> dict[str, Any]:
    return {
        "apiVersion": "configuration.konghq.com/v1alpha1",
        "kind": "KongCustomEntity",
        "metadata": {"name": "gql-route"},
        "spec": {
            "controllerName": "kong",
            "type": "degraphql_routes",
            "parentRef": {
                "group": "configuration.konghq.com",
                "kind": "KongPlugin",
                "name": "gql",
            },
            "fields": {"uri": uri, "query": "query{ contacts { name } }"},
        },
    }


def _vault(name: str, prefix: str, description: str) -> dict[str, Any]:
    return {
        "apiVersion": "configuration.konghq.com/v1alpha1",
        "kind": "KongVault",
        "metadata": {"name": name, "annotations": {"kubernetes.io/ingress.class": "kong"}},
        "spec": {
            "backend": "env",
            "prefix": prefix,
            "description": description,
            "config": {"prefix": "SECRET_"},
        },
    }


def _degraphql(config: dict[str, Any]) -> list[dict[str, Any]]:
    return list(config.get("degraphql_routes", []))


def _vaults(config: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    return [v for v in config.get("vaults", []) if v.get("prefix") == prefix]


async def test_custom_entity_and_vault_create_update_delete_reach_kong(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    vault_name, prefix = f"{ns}-vault", f"{ns}-p"
    plugin = {
        "apiVersion": "configuration.konghq.com/v1",
        "kind": "KongPlugin",
        "metadata": {"name": "gql"},
        "plugin": "degraphql",
        "config": {"graphql_server_path": "/v1/graphql"},
    }
    with trio.fail_after(120):
        async with (
            FakeKong(enabled_plugins=BUNDLED_PLUGINS | {"degraphql"}) as kong,
            control_plane.admin_client() as client,
        ):
            try:
                objects = [
                    *app("web", "web.example.com", annotations={"konghq.com/plugins": "gql"}),
                    plugin,
                    _kce("/contacts"),
                    _vault(vault_name, prefix, "first"),
                ]
                await apply(client, objects, namespace=ns)
                async with running(_config(control_plane.kubeconfig, kong.url, ns)):
                    # create: the entity carries the ID of the Kong service the plugin is on
                    await kong.wait_for(
                        lambda k: bool(_degraphql(k.config)) and bool(_vaults(k.config, prefix))
                    )
                    (entity,) = _degraphql(kong.config)
                    (svc,) = kong.config["services"]
                    assert entity["service"] == {"id": svc["id"]}
                    assert entity["uri"] == "/contacts"
                    (vault,) = _vaults(kong.config, prefix)
                    assert vault["name"] == "env" and vault["description"] == "first"
                    # update both
                    await apply(
                        client,
                        [_kce("/v2"), _vault(vault_name, prefix, "second")],
                        namespace=ns,
                    )
                    await kong.wait_for(
                        lambda k: (
                            [e["uri"] for e in _degraphql(k.config)] == ["/v2"]
                            and [v.get("description") for v in _vaults(k.config, prefix)]
                            == ["second"]
                        )
                    )
                    # delete both: the rest of the configuration stays
                    await delete(client, "KongCustomEntity", "gql-route", ns)
                    await delete(client, "KongVault", vault_name)
                    await kong.wait_for(
                        lambda k: not _degraphql(k.config) and not _vaults(k.config, prefix)
                    )
                    assert kong.config["services"]
                    assert all(r.status in (201, 304) for r in kong.config_posts())
            finally:
                await delete(client, "KongVault", vault_name)
