"""Upstream's object dependency graph and ``kic-trio translate --assume-refused`` (the dry run
of the controller's fallback)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from kic_trio._translate_cli import run
from kic_trio.kong._dependencies import ObjectGraph, object_key, snapshot_graph
from kic_trio.translator import TranslatorOptions, snapshot_of


def build_object_graph(objects: list[dict[str, Any]]) -> ObjectGraph:
    """The graph the controller builds: from the models of its store's snapshot."""
    return snapshot_graph(snapshot_of(objects)[0])


def obj(kind: str, name: str, ns: str = "a", api: str = "v1", **rest: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "uid": f"uid-{kind}-{name}"}
    if ns:
        meta["namespace"] = ns
    meta.update(rest.pop("metadata", {}))
    return {"apiVersion": api, "kind": kind, "metadata": meta, **rest}


def key(kind: str, name: str, ns: str = "a") -> str:
    return object_key(kind, ns, name, f"uid-{kind}-{name}")


PLUGINS = {"annotations": {"konghq.com/plugins": "auth"}}
KP = "configuration.konghq.com/v1"


def ingress(name: str, service: str, cls: str = "kong", **meta: Any) -> dict[str, Any]:
    path = {
        "path": "/",
        "pathType": "Prefix",
        "backend": {"service": {"name": service, "port": {"number": 80}}},
    }
    spec = {"ingressClassName": cls, "rules": [{"http": {"paths": [path]}}]}
    return obj("Ingress", name, api="networking.k8s.io/v1", spec=spec, metadata=meta)


def chain() -> list[dict[str, Any]]:
    return [
        obj("Secret", "conf"),
        obj(
            "KongPlugin",
            "auth",
            api=KP,
            plugin="key-auth",
            configFrom={"secretKeyRef": {"name": "conf", "key": "k"}},
        ),
        obj("Service", "svc", metadata=PLUGINS),
        ingress("web", "svc"),
        obj("IngressClass", "kong", ns="", api="networking.k8s.io/v1"),
    ]


def test_a_secret_reaches_its_plugin_the_service_using_it_and_the_ingress() -> None:
    graph = build_object_graph(chain())
    assert set(graph.reachable(key("Secret", "conf"))) == {
        key("Secret", "conf"),
        key("KongPlugin", "auth"),
        key("Service", "svc"),
        key("Ingress", "web"),
    }


def test_an_ingress_class_takes_its_ingresses_and_an_ingress_only_itself() -> None:
    graph = build_object_graph(chain())
    assert set(graph.reachable(key("IngressClass", "kong", ns=""))) == {
        key("IngressClass", "kong", ns=""),
        key("Ingress", "web"),
    }
    assert set(graph.reachable(key("Ingress", "web"))) == {key("Ingress", "web")}


def test_plugin_names_resolve_as_upstream() -> None:
    """A KongPlugin of the object's namespace wins over a KongClusterPlugin; ``ns:name``
    entries never resolve; a custom entity's cross-namespace parent is ignored."""
    objects = [
        obj("KongPlugin", "auth", api=KP, plugin="key-auth"),
        obj("KongClusterPlugin", "auth", ns="", api=KP, plugin="key-auth"),
        obj("Service", "svc", metadata=PLUGINS),
        obj("Service", "other", metadata={"annotations": {"konghq.com/plugins": "a:auth"}}),
        obj("Service", "far", ns="b", metadata=PLUGINS),
        obj(
            "KongCustomEntity",
            "kce",
            api="configuration.konghq.com/v1alpha1",
            spec={"parentRef": {"kind": "KongPlugin", "name": "auth", "namespace": "b"}},
        ),
    ]
    graph = build_object_graph(objects)
    assert graph.dependants[key("KongPlugin", "auth")] == {key("Service", "svc")}
    assert graph.dependants[key("KongClusterPlugin", "auth", ns="")] == {key("Service", "far", "b")}


def test_odd_shapes_give_no_edge_and_no_error() -> None:
    objects: list[dict[str, Any]] = [
        obj("Ingress", "x", spec={"rules": "nope"}),
        obj("Ingress", "y", spec={"rules": [{"http": {"paths": [None, 3]}}]}),
        obj("KongPlugin", "p", configFrom=[1], configPatches={"a": 1}),
        obj("KongConsumer", "c", credentials=[{"x": 1}, 7]),
        {"kind": "Service"},
    ]
    assert build_object_graph(objects).dependants == {}


def write(tmp_path: Path, objects: list[dict[str, Any]]) -> str:
    path = tmp_path / "in.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    return str(path)


def manifests() -> list[dict[str, Any]]:
    return [
        obj("KongPlugin", "auth", api=KP, plugin="key-auth"),
        obj("Service", "svc", spec={"ports": [{"port": 80}]}),
        obj("Service", "other", spec={"ports": [{"port": 80}]}),
        ingress("web", "svc", metadata={}, annotations={"konghq.com/plugins": "auth"}),
        ingress("site", "other"),
    ]


def test_assume_refused_prints_the_fallback_and_says_what_is_left_out(tmp_path: Path) -> None:
    out = run(["-f", write(tmp_path, manifests()), "--assume-refused", "KongPlugin/a/auth"])
    assert out.config is not None and out.status == 1  # refused objects are failures
    routes = [r["name"] for s in out.config["services"] for r in s.get("routes", [])]
    assert routes == ["a.site.other..80"]  # web was protected by auth: left out with it
    assert "plugins" not in out.config  # the emptied list is left out, as upstream does
    shown = "\n".join(out.messages)
    assert "left out: KongPlugin a/auth: Kong refused it" in shown
    assert "left out: Ingress a/web:" in shown


def test_assume_refused_names_the_flag_when_the_object_is_not_there(tmp_path: Path) -> None:
    out = run(["-f", write(tmp_path, manifests()), "--assume-refused", "Service/a/nope"])
    assert out.status == 2 and out.config is None
    assert out.messages[-1] == "--assume-refused Service/a/nope: no such object"


def test_assume_refused_refuses_a_malformed_reference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        run(["-f", write(tmp_path, manifests()), "--assume-refused", "Service//x/y"])
    assert info.value.code == 2
    assert "--assume-refused" in capsys.readouterr().err


def test_cluster_scoped_objects_are_named_without_a_namespace(tmp_path: Path) -> None:
    objects = [
        obj("IngressClass", "kong", ns="", api="networking.k8s.io/v1"),
        obj("Service", "svc", spec={"ports": [{"port": 80}]}),
        ingress("web", "svc"),
    ]
    out = run(["-f", write(tmp_path, objects), "--assume-refused", "IngressClass/kong"])
    assert out.config is not None
    assert "services" not in out.config  # its Ingress, and so the Service's only use, went
    assert "left out: Ingress a/web: it depends on IngressClass kong, which is left out" in (
        out.messages
    )


def test_upstream_gates_are_accepted_and_unknown_ones_name_the_flag(tmp_path: Path) -> None:
    path = write(tmp_path, manifests())
    assert run(["-f", path, "--feature-gates", "KongServiceFacade=true,GatewayAlpha=true"]).config
    out = run(["-f", path, "--feature-gates", "Nope=true"])
    assert out.status == 2 and out.messages == ("--feature-gates: unknown feature gate(s): Nope",)


def test_without_the_fallback_gate_nothing_would_be_pushed(tmp_path: Path) -> None:
    out = run(
        [
            "-f",
            write(tmp_path, manifests()),
            "--feature-gates",
            "FallbackConfiguration=false",
            "--assume-refused",
            "Service/a/svc",
        ]
    )
    assert out.config is None and out.status == 1
    assert "keeps the last configuration Kong accepted" in out.messages[-1]


def test_router_flavor_reaches_the_options(tmp_path: Path) -> None:
    from kic_trio._translate_cli import build_parser, options_from_args

    args = build_parser().parse_args(["-f", "x", "--router-flavor", "expressions"])
    assert options_from_args(args)[0].router_flavor == "expressions"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["-f", "x", "--router-flavor", "atc"])


def test_backfill_puts_back_the_last_accepted_version_with_its_plugin(tmp_path: Path) -> None:
    """``--use-last-valid-config-for-fallback``: the refused plugin and the Ingress it protects
    come back as Kong last accepted them — the route together with its plugin, never bare."""
    from kic_trio.kong._fallback import plan_fallback
    from kic_trio.kong._parse import parse_rejection
    from kic_trio.translator import translate_objects

    good = manifests()
    good[0]["config"] = {"key_names": ["apikey"]}
    last_valid = translate_objects(good, TranslatorOptions()).body
    now = manifests()
    now[0]["config"] = {"key_names": ["bad name"]}
    now.append(ingress("extra", "other"))  # an unrelated change that must go out
    body = translate_objects(now, TranslatorOptions()).body
    plugin_tags = next(p["tags"] for p in orjson.loads(body)["plugins"])
    refusal = parse_rejection(
        orjson.dumps(
            {
                "flattened_errors": [
                    {
                        "entity_type": "plugin",
                        "entity_tags": plugin_tags,
                        "errors": [{"type": "field", "field": "config.key_names", "message": "x"}],
                    }
                ]
            }
        )
    )
    excluded = plan_fallback(body, (refusal,))
    filled = plan_fallback(body, (refusal,), last_valid=last_valid)
    assert excluded.body is not None and filled.body is not None
    out = orjson.loads(filled.body)
    routes = {r["name"] for s in out["services"] for r in s.get("routes", [])}
    assert routes == {"a.web.svc..80", "a.site.other..80", "a.extra.other..80"}
    [plugin] = out["plugins"]
    assert plugin["config"] == {"key_names": ["apikey"]} and plugin["route"] == "a.web.svc..80"
    assert set(filled.left_out) == set(excluded.left_out)  # still reported as left out
    assert "plugins" not in orjson.loads(excluded.body)


def test_backfill_through_snapshots_brings_back_the_secret_its_consumer_plugin_and_ingress() -> (
    None
):
    """The controller's path (``plan_for_snapshots``): a refused credential Secret, which also
    configures a plugin, leaves out its consumer, the plugin and the Ingress using it; with the
    last accepted configuration and its snapshot, all come back as Kong accepted them."""
    from kic_trio._translate_cli import _refusal
    from kic_trio.kong._fallback_parts import plan_for_snapshots
    from kic_trio.kong._parse import parse_rejection
    from kic_trio.translator import Translator

    def objects(key: str) -> list[dict[str, Any]]:
        import base64

        data = {"key": key, "config": '{"minute": 5}'}
        secret = obj(
            "Secret",
            "shared",
            metadata={"labels": {"konghq.com/credential": "key-auth"}},
            data={k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
        )
        consumer = obj(
            "KongConsumer",
            "alice",
            api=KP,
            metadata={"annotations": {"kubernetes.io/ingress.class": "kong"}},
            username="alice",
            credentials=["shared"],
        )
        plugin = obj(
            "KongPlugin",
            "limit",
            api=KP,
            plugin="rate-limiting",
            configFrom={"secretKeyRef": {"name": "shared", "key": "config"}},
        )
        return [
            secret,
            consumer,
            plugin,
            obj("Service", "svc", spec={"ports": [{"port": 80}]}),
            obj("Service", "other", spec={"ports": [{"port": 80}]}),
            ingress("limited", "svc", annotations={"konghq.com/plugins": "limit"}),
            ingress("open", "other"),
        ]

    old_snap, _ = snapshot_of(objects("good-key"))
    old = Translator(TranslatorOptions()).translate(old_snap)
    snap, _ = snapshot_of(objects("refused-key"))
    now = Translator(TranslatorOptions()).translate(snap)
    secret = next(m.ref for _, m in snap.all() if m.ref.kind == "Secret")
    refusal = (parse_rejection(_refusal([secret])),)
    excluded = plan_for_snapshots(now.body, refusal, snap, parts=now.parts)
    assert {str(r) for r in excluded.left_out} == {
        "Secret a/shared",
        "KongConsumer a/alice",
        "KongPlugin a/limit",
        "Ingress a/limited",
    }
    assert excluded.body is not None
    ex = orjson.loads(excluded.body)
    assert "consumers" not in ex and "plugins" not in ex
    filled = plan_for_snapshots(now.body, refusal, snap, (old.body, old_snap), now.parts)
    assert filled.body is not None
    out = orjson.loads(filled.body)
    [consumer] = out["consumers"]
    assert consumer["keyauth_credentials"][0]["key"] == "good-key"  # the accepted version
    [plugin] = out["plugins"]
    assert plugin["name"] == "rate-limiting" and plugin["config"] == {"minute": 5}
    routes = {r["name"] for s in out["services"] for r in s.get("routes", [])}
    assert routes == {"a.limited.svc..80", "a.open.other..80"}
