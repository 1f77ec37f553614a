"""The applier's fallback fails closed, against FakeKong on virtual time.

A refused plugin keeps what it protects out; a refused KongClusterPlugin instance is blamed on
its referrer; a refused global plugin, or ``FallbackConfiguration=false``, keeps the last good
configuration; the lifecycle events and Warning Events say what the fallback removes.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest
import trio
import trio.testing

from kic_trio import Config
from kic_trio._instance import Instance
from kic_trio._latest import LatestValue
from kic_trio._lifecycle import ConfigApplied, LifecycleEvent, PushFailed
from kic_trio._payload import ConfigPayload
from kic_trio.kong import GatewaySet, run_applier
from kic_trio.models import ObjectRef
from kic_trio.testing import FakeKong
from kic_trio.testing.fakekong._validate import find_schema

pytestmark = pytest.mark.skipif(
    find_schema() is None,
    reason="Kong's declarative JSON schema not found (set $KIC_TRIO_KONG_SCHEMA)",
)

G = "configuration.konghq.com"


def ref(kind: str, ns: str, name: str) -> ObjectRef:
    group = G if kind.startswith("Kong") else ("networking.k8s.io" if kind == "Ingress" else "")
    return ObjectRef(kind, ns, name, f"uid-{kind}-{ns}-{name}", group, "v1")


def tags(kind: str, ns: str, name: str) -> list[str]:
    r = ref(kind, ns, name)
    out = [f"k8s-name:{name}"] + ([f"k8s-namespace:{ns}"] if ns else [])
    return (
        [*out, f"k8s-kind:{kind}", f"k8s-uid:{r.uid}"]
        + ([f"k8s-group:{r.group}"] if r.group else [])
        + ["k8s-version:v1"]
    )


def kong_config(*, key_names: list[str], global_plugin: bool = False) -> dict[str, Any]:
    services = [
        {
            "name": f"{ns}.web",
            "host": f"web.{ns}.svc",
            "port": 80,
            "tags": tags("Service", ns, "web"),
            "routes": [
                {"name": f"{ns}.web", "paths": [f"/{ns}"], "tags": tags("Ingress", ns, "web")}
            ],
        }
        for ns in ("a", "b")
    ]
    plugins: list[dict[str, Any]] = [
        {
            "name": "key-auth",
            "route": "a.web",
            "config": {"key_names": key_names},
            "tags": tags("KongPlugin", "a", "auth"),
        },
        {
            "name": "rate-limiting",
            "route": "a.web",
            "config": {"minute": 5, "policy": "teleport"},
            "tags": tags("KongClusterPlugin", "", "rl"),
        },
        {
            "name": "rate-limiting",
            "route": "b.web",
            "config": {"minute": 5},
            "tags": tags("KongClusterPlugin", "", "rl"),
        },
    ]
    if global_plugin:
        plugins.append({"name": "prometheus", "tags": tags("KongClusterPlugin", "", "metrics")})
    return {"_format_version": "3.0", "services": services, "plugins": plugins}


def payload(cfg: dict[str, Any]) -> ConfigPayload:
    body = orjson.dumps(cfg, option=orjson.OPT_SORT_KEYS)
    return ConfigPayload(body=body, sha=hashlib.sha256(body).hexdigest())


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[ObjectRef, str, str, str]] = []

    def emit(self, ref: ObjectRef, type: str, reason: str, message: str) -> None:
        self.events.append((ref, type, reason, message))


def routes_served(cfg: dict[str, Any]) -> dict[str, set[str]]:
    out = {r["name"]: set() for s in cfg.get("services", []) for r in s.get("routes", [])}
    for p in cfg.get("plugins", []):
        if p.get("route") in out:
            out[p["route"]].add(p["name"])
    return out


@asynccontextmanager
async def running(
    kong: FakeKong, **kw: Any
) -> AsyncIterator[tuple[LatestValue[ConfigPayload], list[LifecycleEvent], Recorder]]:
    inst = Instance.create(Config(kong_admin_url=[kong.url], kong_admin_init_retries=1000, **kw))
    rec = Recorder()
    inst.recorder = rec
    got: list[LifecycleEvent] = []
    latest: LatestValue[ConfigPayload] = LatestValue()
    async with inst.bus.subscribe() as rx, trio.open_nursery() as nursery:

        async def collect() -> None:
            async for e in rx:
                got.append(e)

        nursery.start_soon(collect)
        gateways = GatewaySet.from_config(inst.cfg)
        gateways.offload = False  # virtual clock: plan on the Trio thread
        await nursery.start(run_applier, inst, latest, gateways)
        yield latest, got, rec
        nursery.cancel_scope.cancel()


async def until_push_failed(got: list[LifecycleEvent]) -> None:
    """Until the applier reported the refused push: the event that proves it had its chance,
    before a test checks that nothing more happens (bounded by a virtual deadline)."""
    with trio.fail_after(120):
        while not any(isinstance(e, PushFailed) for e in got):
            await trio.testing.wait_all_tasks_blocked()
            await trio.sleep(0.5)


BAD = ("plugins", {"name": "key-auth", "config.key_names": ["bad key"]})
TELEPORT = ("plugins", {"name": "rate-limiting", "config.policy": "teleport"})


async def test_refused_auth_plugin_keeps_its_route_out(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(600):
        async with FakeKong() as kong:
            kong.reject_entities = [BAD]
            async with running(kong, pod_name="kic-0", pod_namespace="kong") as (latest, got, rec):
                latest.put(payload(kong_config(key_names=["bad key"])))
                await kong.wait_for(lambda k: any(r.status == 201 for r in k.config_posts()))
                # a.web is not served, not even with its rate-limiting: b.web is, with its own
                assert routes_served(kong.config) == {"b.web": {"rate-limiting"}}
                await trio.testing.wait_all_tasks_blocked()
                [failed] = [e for e in got if isinstance(e, PushFailed)]
                [applied] = [e for e in got if isinstance(e, ConfigApplied)]
                assert (
                    set(failed.left_out)
                    == set(applied.left_out)
                    == {ref("KongPlugin", "a", "auth"), ref("Ingress", "a", "web")}
                )
                assert failed.plugins_removed == (
                    "plugin 'key-auth' of KongPlugin a/auth on Ingress a/web",
                )
                assert "removes plugins with what they protect: plugin 'key-auth'" in failed.reason
                left = {
                    r: m
                    for r, t, reason, m in rec.events
                    if reason == "FallbackKongConfigurationExcluded" and t == "Warning"
                }
                assert set(left) == {ref("KongPlugin", "a", "auth"), ref("Ingress", "a", "web")}
                assert (
                    "plugin 'key-auth' of KongPlugin a/auth, attached to it, is left out"
                    in left[ref("Ingress", "a", "web")]
                )
                pod = [
                    m
                    for r, _, reason, m in rec.events
                    if r.kind == "Pod" and reason == "FallbackKongConfigurationSucceeded"
                ]
                assert pod and "plugin 'key-auth'" in pod[0]
                # fixed: served in full, with key-auth
                fixed = payload(kong_config(key_names=["apikey"]))
                latest.put(fixed)
                await kong.wait_for(
                    lambda k: k.configuration_hash == hashlib.md5(fixed.body).hexdigest()
                )
                assert routes_served(kong.config) == {
                    "a.web": {"key-auth", "rate-limiting"},
                    "b.web": {"rate-limiting"},
                }


async def test_refused_cluster_plugin_instance_blames_the_referrer_only(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(600):
        async with FakeKong() as kong:
            kong.reject_entities = [TELEPORT]
            async with running(kong) as (latest, got, rec):
                latest.put(payload(kong_config(key_names=["apikey"])))
                await kong.wait_for(lambda k: any(r.status == 201 for r in k.config_posts()))
                assert routes_served(kong.config) == {"b.web": {"rate-limiting"}}
                warned = {
                    r for r, t, reason, _ in rec.events if reason == "KongConfigurationApplyFailed"
                }
                assert warned == {ref("Ingress", "a", "web")}
                [failed] = [e for e in got if isinstance(e, PushFailed)]
                assert {f.obj for f in failed.failures} == {ref("Ingress", "a", "web")}
                assert ref("KongClusterPlugin", "", "rl") not in failed.left_out


async def test_refused_global_plugin_keeps_the_last_good_config(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(600):
        async with FakeKong() as kong, running(kong) as (latest, got, _rec):
            good = payload(kong_config(key_names=["apikey"]))
            latest.put(good)
            await kong.wait_for(
                lambda k: k.configuration_hash == hashlib.md5(good.body).hexdigest()
            )
            kong.enabled_plugins = (kong.enabled_plugins or frozenset()) - {"prometheus"}
            latest.put(payload(kong_config(key_names=["apikey"], global_plugin=True)))
            await kong.wait_for(lambda k: any(r.status == 400 for r in k.config_posts()))
            await until_push_failed(got)
            await trio.sleep(30)  # and nothing more is pushed in the next 30 s
            assert [r.status for r in kong.config_posts()] == [201, 400]
            assert kong.configuration_hash == hashlib.md5(good.body).hexdigest()
            [failed] = [e for e in got if isinstance(e, PushFailed)]
            assert (
                "no fallback configuration" in failed.reason
                and "global plugin 'prometheus'" in failed.reason
            )


async def test_fallback_off_keeps_the_last_good_config(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(600):
        gates = {"FallbackConfiguration": False}
        async with FakeKong() as kong, running(kong, feature_gates=gates) as (latest, got, rec):
            good = payload(kong_config(key_names=["apikey"]))
            latest.put(good)
            await kong.wait_for(
                lambda k: k.configuration_hash == hashlib.md5(good.body).hexdigest()
            )
            kong.reject_entities = [BAD]
            latest.put(payload(kong_config(key_names=["bad key"])))
            await kong.wait_for(lambda k: any(r.status == 400 for r in k.config_posts()))
            await until_push_failed(got)
            await trio.sleep(30)  # and nothing more is pushed in the next 30 s
            assert [r.status for r in kong.config_posts()] == [201, 400]
            assert kong.configuration_hash == hashlib.md5(good.body).hexdigest()
            [failed] = [e for e in got if isinstance(e, PushFailed)]
            assert failed.left_out == () and "fallback" not in failed.reason
            assert {
                r for r, _, reason, _ in rec.events if reason == "KongConfigurationApplyFailed"
            } == {ref("KongPlugin", "a", "auth")}
            assert not any(
                reason == "FallbackKongConfigurationExcluded" for _, _, reason, _ in rec.events
            )
