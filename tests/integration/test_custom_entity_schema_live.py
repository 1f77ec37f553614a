"""KongCustomEntity types checked against Kong's own schemas, live (issue 16 item 2).

A real kube-apiserver, the whole controller and FakeKong: the controller asks Kong
``GET /schemas/<type>`` for each custom entity type in the store. FakeKong has no
``other_things`` (404), so that entity gets a Warning Event saying so and stays out, while the
``degraphql_routes`` entity next to it is served with the ``service`` foreign field Kong's
schema names, filled with the ID of the Kong service its parent plugin is on. Kong never
refuses the configuration (it would, whole, for an unknown top-level key).
"""

from __future__ import annotations

from typing import Any

import trio

from _eventually import eventually
from _live_controller import live_config, running
from k8s_objects import app
from kic_trio.testing import FakeKong, apply
from kic_trio.testing.controlplane import ControlPlane
from kic_trio.testing.fakekong._validate import BUNDLED_PLUGINS


def _kce(name: str, etype: str) -> dict[str, Any]:
    return {
        "apiVersion": "configuration.konghq.com/v1alpha1",
        "kind": "KongCustomEntity",
        "metadata": {"name": name},
        "spec": {
            "controllerName": "kong",
            "type": etype,
            "parentRef": {
                "group": "configuration.konghq.com",
                "kind": "KongPlugin",
                "name": "gql",
            },
            "fields": {"uri": "/contacts", "query": "query{ contacts { name } }"},
        },
    }


async def test_unknown_custom_entity_type_gets_an_event_and_the_known_one_is_served(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    ns = k8s_namespace
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
            stored = await apply(
                client,
                [
                    *app("web", "web.example.com", annotations={"konghq.com/plugins": "gql"}),
                    plugin,
                    _kce("gql-route", "degraphql_routes"),
                    _kce("stranger", "other_things"),
                ],
                namespace=ns,
            )
            uid = next(o for o in stored if o["metadata"]["name"] == "stranger")["metadata"]["uid"]

            async def no_such_type_events() -> list[dict[str, Any]]:
                resp = await client.get(
                    f"/api/v1/namespaces/{ns}/events",
                    params={"fieldSelector": f"involvedObject.uid={uid}"},
                )
                return [e for e in resp.json()["items"] if "no such entity type" in e["message"]]

            async with running(live_config(control_plane.kubeconfig, [kong.url], ns)):
                asked = {"/schemas/degraphql_routes", "/schemas/other_things"}
                await kong.wait_for(
                    lambda k: asked <= {r.path for r in k.requests if r.method == "GET"}
                )
                events = await eventually(no_such_type_events, interval=0.1)
                assert events[0]["type"] == "Warning"
                assert "other_things" in events[0]["message"]
                await kong.wait_for(lambda k: bool(k.config.get("degraphql_routes")))
                (entity,) = kong.config["degraphql_routes"]
                (svc,) = kong.config["services"]
                assert entity["service"] == {"id": svc["id"]}
                assert "other_things" not in kong.config
                assert all(r.status in (201, 304) for r in kong.config_posts())
                # asked once per type and gateway, not once per translation
                gets = [r.path for r in kong.requests if r.path.startswith("/schemas/")]
                assert sorted(gets) == sorted(asked)
