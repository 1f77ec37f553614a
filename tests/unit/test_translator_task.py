"""The translator task's timing on virtual time: first translation after every watcher synced
(bounded by init_cache_sync_duration), then debounce bounded by a max delay under a storm."""

from __future__ import annotations

import functools
import math
from typing import Any

import pytest
import trio
import trio.testing

from kic_trio import Config, TranslationDone
from kic_trio._controller import translator_task
from kic_trio._deltas import Delta, Synced, Upsert
from kic_trio._instance import Instance
from kic_trio._latest import LatestValue
from kic_trio._payload import ConfigPayload
from kic_trio.models import parse


def service(name: str, port: int = 80) -> Any:
    return parse(
        "Service",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}", "resourceVersion": str(port)},
            "spec": {"ports": [{"name": "http", "port": port, "protocol": "TCP"}]},
        },
    )


class Rig:
    def __init__(self, **cfg: Any) -> None:
        self.instance = Instance.create(Config(**cfg))
        self.send, self.receive = trio.open_memory_channel[Delta](math.inf)
        self.latest: LatestValue[ConfigPayload] = LatestValue()
        self.translations: list[float] = []

    async def start(self, nursery: trio.Nursery, kinds: frozenset[str]) -> None:
        async def record() -> None:
            async with self.instance.bus.subscribe() as events:
                async for event in events:
                    if isinstance(event, TranslationDone):
                        self.translations.append(trio.current_time())

        nursery.start_soon(record)
        await trio.testing.wait_all_tasks_blocked()
        # offload=False: a worker thread's real duration would race the mock clock's jumps
        # (test_translate_worker.py covers the worker thread)
        task = functools.partial(translator_task, offload=False)
        await nursery.start(task, self.instance, self.receive, self.latest, kinds, None, None)


async def test_first_translation_waits_for_every_watcher_not_a_fixed_sleep(autojump_clock: trio.testing.MockClock) -> None:
    rig = Rig(init_cache_sync_duration=5.0)
    async with trio.open_nursery() as nursery:
        start = trio.current_time()
        await rig.start(nursery, frozenset({"Service", "Ingress"}))
        rig.send.send_nowait(Upsert("Service", service("a")))
        rig.send.send_nowait(Synced("Service"))
        await trio.sleep(0.5)
        assert rig.translations == []  # Ingress not synced yet
        rig.send.send_nowait(Synced("Ingress"))
        await trio.sleep(0.01)
        assert len(rig.translations) == 1
        assert rig.translations[0] - start < 0.6  # right after the last Synced, not after 5 s
        assert rig.instance.health.caches_synced
        nursery.cancel_scope.cancel()


async def test_a_late_watcher_is_waited_for_until_cache_sync_timeout(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    # A partial first config would remove routes Kong already serves: no translation until
    # every watcher listed; a warning names the late kind after init_cache_sync_duration.
    rig = Rig(init_cache_sync_duration=5.0, cache_sync_timeout=60.0)
    async with trio.open_nursery() as nursery:
        start = trio.current_time()
        await rig.start(nursery, frozenset({"Service", "Ingress"}))
        rig.send.send_nowait(Synced("Service"))
        await trio.sleep(30)
        assert rig.translations == []
        assert any("Ingress" in r.getMessage() and "still waiting" in r.getMessage() for r in caplog.records)
        rig.send.send_nowait(Synced("Ingress"))
        await trio.sleep(0.01)
        assert len(rig.translations) == 1
        assert 30.0 <= rig.translations[0] - start < 30.1
        nursery.cancel_scope.cancel()


async def test_a_watcher_that_never_syncs_is_given_up_after_cache_sync_timeout(autojump_clock: trio.testing.MockClock) -> None:
    rig = Rig(init_cache_sync_duration=5.0, cache_sync_timeout=60.0)
    async with trio.open_nursery() as nursery:
        start = trio.current_time()
        await rig.start(nursery, frozenset({"Service", "Ingress"}))
        rig.send.send_nowait(Synced("Service"))
        await trio.sleep(100)
        assert len(rig.translations) == 1
        assert 60.0 <= rig.translations[0] - start < 60.1
        nursery.cancel_scope.cancel()


async def test_changes_close_together_are_batched_and_a_storm_is_bounded(autojump_clock: trio.testing.MockClock) -> None:
    rig = Rig(sync_debounce=0.05, sync_max_delay=0.3)
    async with trio.open_nursery() as nursery:
        await rig.start(nursery, frozenset({"Service"}))
        rig.send.send_nowait(Synced("Service"))
        await trio.sleep(1)
        assert len(rig.translations) == 1

        # three changes 10 ms apart: one translation, one debounce after the last
        t0 = trio.current_time()
        for port in (81, 82, 83):
            rig.send.send_nowait(Upsert("Service", service("a", port)))
            await trio.sleep(0.01)
        await trio.sleep(1)
        assert len(rig.translations) == 2
        assert rig.translations[1] - t0 < 0.1

        # a storm: a change every 20 ms for 2 s; translations still happen every <= max delay
        t1 = trio.current_time()
        for i in range(100):
            rig.send.send_nowait(Upsert("Service", service("a", 1000 + i)))
            await trio.sleep(0.02)
        storm = [t for t in rig.translations if t > t1]
        assert len(storm) >= 5
        gaps = [b - a for a, b in zip([t1, *storm], storm, strict=False)]
        assert max(gaps) <= 0.3 + 0.05
        nursery.cancel_scope.cancel()


def ingress(host: str) -> Any:
    return parse(
        "Ingress",
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "web", "namespace": "ns", "uid": "uid-web", "resourceVersion": host,
                         "annotations": {"kubernetes.io/ingress.class": "kong"}},
            "spec": {"rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix",
                     "backend": {"service": {"name": "a", "port": {"number": 80}}}}]}}]},
        },
    )


async def test_only_a_different_configuration_is_handed_to_the_applier(autojump_clock: trio.testing.MockClock) -> None:
    rig = Rig(sync_debounce=0.05)
    async with trio.open_nursery() as nursery:
        await rig.start(nursery, frozenset({"Service", "Ingress"}))
        for delta in (Upsert("Service", service("a")), Upsert("Ingress", ingress("a.example.com")),
                      Synced("Service"), Synced("Ingress")):
            rig.send.send_nowait(delta)
        first = await rig.latest.get()
        assert b"a.example.com" in first.body
        # the very same object again (a resync): the store sees no change, nothing is translated
        rig.send.send_nowait(Upsert("Service", service("a")))
        await trio.sleep(1)
        assert len(rig.translations) == 1 and not rig.latest.has_new
        # a change that does not alter the Kong config: translated, but nothing new to push
        rig.send.send_nowait(Upsert("Service", service("unused", 9090)))
        await trio.sleep(1)
        assert len(rig.translations) == 2 and not rig.latest.has_new
        # a real change reaches the applier
        rig.send.send_nowait(Upsert("Ingress", ingress("b.example.com")))
        second = await rig.latest.get()
        assert second.sha != first.sha and b"b.example.com" in second.body
        nursery.cancel_scope.cancel()
