"""The applier against FakeKong, on virtual time (MockClock with autojump).

FakeKong serves real HTTP on loopback; only the clock is virtual, so backoffs, Retry-After,
the minimum push interval and the status checks are checked without real sleeps.
"""

from __future__ import annotations

import hashlib
import itertools
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest
import trio
import trio.testing

from _eventually import eventually
from kic_trio import Config
from kic_trio._errors import KongAdminError, UnsupportedKongError
from kic_trio._instance import Instance
from kic_trio._latest import LatestValue
from kic_trio._lifecycle import ConfigApplied, LifecycleEvent, PushFailed
from kic_trio._payload import ConfigPayload
from kic_trio.kong import GatewaySet, run_applier
from kic_trio.models import ObjectRef
from kic_trio.testing import FakeKong
from kic_trio.testing.fakekong import EMPTY_HASH


class Recorder:
    """Collects Kubernetes Events instead of sending them."""

    def __init__(self) -> None:
        self.events: list[tuple[ObjectRef, str, str, str]] = []

    def emit(self, ref: ObjectRef, type: str, reason: str, message: str) -> None:
        self.events.append((ref, type, reason, message))


def tags(kind: str, ns: str, name: str, uid: str) -> list[str]:
    return [f"k8s-name:{name}", f"k8s-namespace:{ns}", f"k8s-kind:{kind}", f"k8s-uid:{uid}", "k8s-version:v1"]


def kong_config(*names: str, bad: str | None = None) -> dict[str, Any]:
    """A service + route per name; tags say which Ingress each came from."""
    services = []
    for n in names:
        t = tags("Ingress", "default", n, f"uid-{n}")
        if n == bad:
            t = [*t, "reject-me"]
        services.append(
            {"name": n, "host": f"{n}.default.svc", "port": 80, "tags": t,
             "routes": [{"name": f"{n}.r", "paths": [f"/{n}"], "tags": t}]}
        )
    return {"_format_version": "3.0", "services": services}


def payload(cfg: dict[str, Any], seen_at: float | None = None) -> ConfigPayload:
    body = orjson.dumps(cfg, option=orjson.OPT_SORT_KEYS)
    return ConfigPayload(body=body, sha=hashlib.sha256(body).hexdigest(), changes_seen_at=seen_at)


def md5(p: ConfigPayload) -> str:
    return hashlib.md5(p.body).hexdigest()


def closed_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def make_instance(urls: list[str], **kw: Any) -> tuple[Instance, Recorder]:
    kw.setdefault("kong_admin_init_retries", 1000)
    inst = Instance.create(Config(kong_admin_url=urls, **kw))
    rec = Recorder()
    inst.recorder = rec
    return inst, rec


@asynccontextmanager
async def applier(inst: Instance, gateways: GatewaySet | None = None) -> AsyncIterator[tuple[LatestValue[ConfigPayload], GatewaySet]]:
    latest: LatestValue[ConfigPayload] = LatestValue()
    gs = gateways if gateways is not None else GatewaySet.from_config(inst.cfg)
    gs.offload = False  # virtual clock: plan fallbacks on the Trio thread
    async with trio.open_nursery() as nursery:
        await nursery.start(run_applier, inst, latest, gs)
        yield latest, gs
        nursery.cancel_scope.cancel()


@asynccontextmanager
async def events(inst: Instance) -> AsyncIterator[list[LifecycleEvent]]:
    got: list[LifecycleEvent] = []
    async with inst.bus.subscribe() as rx, trio.open_nursery() as nursery:

        async def collect() -> None:
            async for e in rx:
                got.append(e)

        nursery.start_soon(collect)
        yield got
        nursery.cancel_scope.cancel()


async def test_two_gateways_are_both_configured(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(600):
        async with FakeKong() as a, FakeKong() as b:
            inst, _ = make_instance([a.url, b.url])
            p = payload(kong_config("web", "api"), seen_at=trio.current_time())
            async with events(inst) as got, applier(inst) as (latest, gs):
                latest.put(p)
                await a.wait_for(lambda f: f.configuration_hash == md5(p))
                await b.wait_for(lambda f: f.configuration_hash == md5(p))
                await eventually(lambda: len(gs.applied_hashes()) == 2)
                assert gs.applied_hashes() == {a.url: p.sha, b.url: p.sha}
                assert inst.health.first_push_done
                await eventually(lambda: len([e for e in got if isinstance(e, ConfigApplied)]) == 2)
                applied = [e for e in got if isinstance(e, ConfigApplied)]
                assert {e.gateway for e in applied} == {a.url, b.url}
                assert all(e.config_hash == p.sha and e.size == len(p.body) for e in applied)
            assert gs.get(a.url) is not None and gs.get(a.url).router_flavor == "traditional_compatible"  # type: ignore[union-attr]
            text = inst.metrics.registry.get_sample_value(
                "ingress_controller_configuration_push_count_total",
                {"success": "true", "protocol": "db-less", "failure_reason": "", "dataplane": a.url, "instance_id": inst.id},
            )
            assert text == 1.0


async def test_same_config_is_not_pushed_again(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(600):
        async with FakeKong() as a:
            inst, _ = make_instance([a.url])
            p = payload(kong_config("web"))
            async with applier(inst) as (latest, gs):
                latest.put(p)
                await eventually(lambda: gs.applied_hashes() == {a.url: p.sha})
                latest.put(payload(kong_config("web")))  # same content, same sha
                await trio.sleep(60)
            assert len(a.config_posts()) == 1


async def test_a_sick_gateway_does_not_delay_the_others(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(600):
        async with FakeKong() as hanging, FakeKong() as good:
            hanging.hang()
            inst, _ = make_instance([closed_url(), hanging.url, good.url])
            p = payload(kong_config("web"))
            async with applier(inst) as (latest, gs):
                start = trio.current_time()
                latest.put(p)
                await good.wait_for(lambda f: f.configuration_hash == md5(p))
                assert good.config_posts()[0].at - start < 1.0  # virtual seconds: no waiting on the others
                await trio.sleep(100)
                assert hanging.configuration_hash == EMPTY_HASH
                assert gs.applied_hashes() == {good.url: p.sha}
                # the hanging one timed out and is retried with backoff, not hammered
                assert 2 <= len(hanging.config_posts()) <= 5
                states = {st.url: st for st in gs.describe()}
                assert states[good.url].applied_sha == p.sha and states[good.url].last_error is None
                assert states[good.url].version == "3.9.1" and states[good.url].ready
                assert "timed out" in (states[hanging.url].last_error or "")
                assert states[hanging.url].applied_sha is None
                hanging.release()
                await hanging.wait_for(lambda f: f.configuration_hash == md5(p))


async def test_retry_after_is_honoured_on_429(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(600):
        async with FakeKong() as a:
            a.fail_next(1, 429, retry_after=7)
            inst, _ = make_instance([a.url])
            p = payload(kong_config("web"))
            async with events(inst) as got, applier(inst) as (latest, _gs):
                latest.put(p)
                await a.wait_for(lambda f: f.configuration_hash == md5(p))
                first, second = a.config_posts()
                assert first.status == 429
                assert second.at - first.at >= 7.0
                assert second.at - first.at < 8.0
                assert any(isinstance(e, PushFailed) and e.status == 429 for e in got)


async def test_5xx_backs_off_exponentially_then_recovers(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(600):
        async with FakeKong() as a:
            a.fail_next(4, 500)
            inst, _ = make_instance([a.url])
            p = payload(kong_config("web"))
            async with applier(inst) as (latest, _gs):
                latest.put(p)
                await a.wait_for(lambda f: f.configuration_hash == md5(p))
            posts = a.config_posts()
            assert [r.status for r in posts] == [500, 500, 500, 500, 201]
            gaps = [b.at - x.at for x, b in itertools.pairwise(posts)]
            # base 0.5 s doubling, jittered to [50%, 100%]
            for n, gap in enumerate(gaps):
                assert 0.5 * 0.5 * 2**n <= gap <= 0.5 * 2**n + 0.1


async def test_restart_empty_is_pushed_again_within_the_check_interval(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(600):
        async with FakeKong() as a:
            inst, _ = make_instance([a.url], kong_status_check_interval=5.0)
            p = payload(kong_config("web"))
            async with applier(inst) as (latest, gs):
                latest.put(p)
                await a.wait_for(lambda f: f.configuration_hash == md5(p))
                await trio.sleep(12)
                a.restart_empty()
                restarted = trio.current_time()
                await a.wait_for(lambda f: f.configuration_hash == md5(p))
                assert trio.current_time() - restarted <= 5.0 + 0.5
                assert len(a.config_posts()) == 2
                await eventually(lambda: gs.applied_hashes() == {a.url: p.sha})


async def test_refused_object_is_left_out_and_reported_and_not_reposted(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(600):
        async with FakeKong(reject_tags={"reject-me"}) as a:
            inst, rec = make_instance([a.url], pod_name="kic-0", pod_namespace="kong")
            good = payload(kong_config("web"))
            bad = payload(kong_config("web", "shop", "api", bad="shop"))
            async with events(inst) as got, applier(inst) as (latest, gs):
                latest.put(good)
                await a.wait_for(lambda f: f.configuration_hash == md5(good))
                latest.put(bad)
                # Kong refuses the whole config; the fallback without "shop" goes out at once
                await a.wait_for(lambda f: "api" in {s["name"] for s in f.config.get("services", [])})
                assert {s["name"] for s in a.config["services"]} == {"web", "api"}
                await trio.sleep(50)  # well under the long backoff
                assert [r.status for r in a.config_posts()] == [201, 400, 201]
                assert a.config_posts()[1].body_md5 == md5(bad)
                await gs.wait_for(lambda g: g.applied_hashes().get(a.url) not in (None, good.sha))
                failed = next(e for e in got if isinstance(e, PushFailed))
                assert failed.status == 400
                shop = ObjectRef("Ingress", "default", "shop", "uid-shop")
                assert {f.obj for f in failed.failures} == {shop}
                warnings = [(r, m) for r, t, reason, m in rec.events if reason == "KongConfigurationApplyFailed" and r.kind == "Ingress"]
                assert warnings and all(r == shop for r, _ in warnings)
                assert {m for _, m in warnings} == {
                    "invalid service:shop: rejected by FakeKong: entity carries tag 'reject-me'",
                    "invalid route:shop.r: rejected by FakeKong: entity carries tag 'reject-me'",
                }
                pod = ObjectRef("Pod", "kong", "kic-0")
                assert (pod, "Normal", "KongConfigurationSucceeded", f"successfully applied Kong configuration to {a.url}") in rec.events
                assert any(r == pod and t == "Warning" for r, t, _, _ in rec.events)
                assert any(r == pod and reason == "FallbackKongConfigurationSucceeded" for r, _, reason, _ in rec.events)
                # a fixed config goes out at once, in full
                fixed = payload(kong_config("web", "shop", "api"))
                latest.put(fixed)
                await a.wait_for(lambda f: f.configuration_hash == md5(fixed))
                assert len(a.config_posts()) == 4
                await gs.wait_for(lambda g: g.applied_hashes() == {a.url: fixed.sha})


async def test_refused_config_is_retried_after_the_long_backoff(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(600):
        async with FakeKong(reject_tags={"reject-me"}) as a:
            inst, _ = make_instance([a.url])
            bad = payload(kong_config("shop", bad="shop"))
            async with applier(inst) as (latest, _gs):
                latest.put(bad)
                await a.wait_for(lambda f: len(f.config_posts()) == 2 and f.config_posts()[1].status == 201)
                # nothing but the refused object: the fallback is upstream's stub
                assert a.config["upstreams"] == [{"name": "kong"}]
                first = a.config_posts()[0].at
                a.reject_tags = set()
                await a.wait_for(lambda f: f.configuration_hash == md5(bad))
                full = [r for r in a.config_posts() if r.body_md5 == md5(bad)]
                assert [r.status for r in full] == [400, 201]
                assert full[1].at - first >= 60.0


async def test_413_is_a_clear_error_with_the_size(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(600):
        async with FakeKong(max_body_size=200) as a:
            inst, _ = make_instance([a.url])
            p = payload(kong_config("web", "shop"))
            async with events(inst) as got, applier(inst) as (latest, _gs):
                latest.put(p)
                await eventually(lambda: any(isinstance(e, PushFailed) for e in got))
                await trio.sleep(30)
            failed = next(e for e in got if isinstance(e, PushFailed))
            assert failed.status == 413
            assert f"{len(p.body)} bytes" in failed.reason
            assert "nginx_admin_client_max_body_size" in failed.reason
            assert len(a.config_posts()) == 1


async def test_min_interval_between_pushes_but_isolated_changes_go_at_once(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(600):
        async with FakeKong() as a:
            inst, _ = make_instance([a.url], proxy_sync_seconds=3.0)
            p1, p2, p3 = payload(kong_config("a")), payload(kong_config("a", "b")), payload(kong_config("c"))
            async with applier(inst) as (latest, _gs):
                t0 = trio.current_time()
                latest.put(p1)
                await a.wait_for(lambda f: f.configuration_hash == md5(p1))
                latest.put(p2)
                await a.wait_for(lambda f: f.configuration_hash == md5(p2))
                posts = a.config_posts()
                assert posts[0].at - t0 < 0.5
                assert posts[1].at - posts[0].at >= 3.0
                await trio.sleep(100)
                t3 = trio.current_time()
                latest.put(p3)
                await a.wait_for(lambda f: f.configuration_hash == md5(p3))
                assert a.config_posts()[2].at - t3 < 0.5


async def test_only_the_leader_pushes(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(600):
        async with FakeKong() as a:
            inst, _ = make_instance([a.url])
            inst.leader.set(False)
            p = payload(kong_config("web"))
            async with applier(inst) as (latest, _gs):
                latest.put(p)
                await trio.sleep(30)
                assert a.config_posts() == []
                inst.leader.set(True)
                await a.wait_for(lambda f: f.configuration_hash == md5(p))


async def test_gateways_added_and_removed_while_running(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(600):
        async with FakeKong() as a, FakeKong() as b:
            inst, _ = make_instance([a.url])
            p = payload(kong_config("web"))
            async with applier(inst) as (latest, gs):
                latest.put(p)
                await a.wait_for(lambda f: f.configuration_hash == md5(p))
                gs.add(b.url)
                await b.wait_for(lambda f: f.configuration_hash == md5(p))
                gs.remove(a.url)
                seen = len(a.requests)
                p2 = payload(kong_config("web", "shop"))
                latest.put(p2)
                await b.wait_for(lambda f: f.configuration_hash == md5(p2))
                await trio.sleep(30)
                assert len(a.requests) == seen
                assert gs.applied_hashes() == {b.url: p2.sha}


async def test_static_gateway_unreachable_after_retries_stops_the_applier(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(600):
        inst, _ = make_instance([closed_url()], kong_admin_init_retries=3, kong_admin_init_retry_delay=2.0)
        start = trio.current_time()
        with pytest.RaisesGroup(pytest.RaisesExc(KongAdminError, match="after 3 attempts"), flatten_subgroups=True):
            async with applier(inst):
                await trio.sleep_forever()
        assert trio.current_time() - start >= 4.0


async def test_database_backed_kong_is_refused_at_start(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(600):
        async with FakeKong(database="postgres") as a:
            inst, _ = make_instance([a.url])
            with pytest.RaisesGroup(pytest.RaisesExc(UnsupportedKongError, match="not supported yet"), flatten_subgroups=True):
                async with applier(inst):
                    await trio.sleep_forever()


async def test_a_discovered_database_backed_kong_stays_pending(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(600):
        async with FakeKong(database="postgres") as odd, FakeKong() as good:
            inst, _ = make_instance([])
            gs = GatewaySet()
            gs.add(odd.url, discovered=True)
            gs.add(good.url, discovered=True)
            p = payload(kong_config("web"))
            async with applier(inst, gs) as (latest, _):
                latest.put(p)
                await good.wait_for(lambda f: f.configuration_hash == md5(p))
                await trio.sleep(60)
                assert odd.config_posts() == []
                assert not gs.get(odd.url).ready  # type: ignore[union-attr]
                # it is re-checked on the readiness interval, not hammered
                assert 3 <= len(odd.requests) <= 20


async def test_reverse_sync_pushes_the_same_config_every_interval(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(600):
        async with FakeKong() as a:
            inst, _ = make_instance([a.url], enable_reverse_sync=True, proxy_sync_seconds=3.0)
            p = payload(kong_config("web"))
            async with applier(inst) as (latest, _gs):
                latest.put(p)
                await a.wait_for(lambda f: len(f.config_posts()) >= 4 and f.config_posts()[3].status is not None)
            posts = a.config_posts()[:4]
            assert [r.status for r in posts] == [201, 304, 304, 304]
            assert all(b.at - x.at >= 3.0 for x, b in itertools.pairwise(posts))


async def test_losing_leadership_stops_pushing(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(600):
        async with FakeKong() as a:
            inst, _ = make_instance([a.url])
            p1, p2 = payload(kong_config("a")), payload(kong_config("b"))
            async with applier(inst) as (latest, gs):
                latest.put(p1)
                await gs.wait_for(lambda g: g.applied_hashes() == {a.url: p1.sha})
                inst.leader.set(False)
                latest.put(p2)
                await trio.sleep(60)
                assert len(a.config_posts()) == 1
                inst.leader.set(True)
                await gs.wait_for(lambda g: g.applied_hashes() == {a.url: p2.sha})
