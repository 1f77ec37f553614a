"""Translations run off the Trio thread; a translation over its budget is reported.

The slow translators here block on a ``threading.Event`` that only the Trio side can set, so
a translation that ran on the Trio thread could not finish (the test fails on its deadline
instead of passing by luck), and no test depends on how fast anything is.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import httpx
import pytest
import trio
import trio.lowlevel
import trio.testing

from _eventually import eventually
from kic_trio import Config
from kic_trio._controller import _translate
from kic_trio._deltas import Upsert
from kic_trio._instance import Instance
from kic_trio._latest import LatestValue
from kic_trio._payload import ConfigPayload
from kic_trio._server import probes_app, serve_app
from kic_trio._translate_worker import TranslationWorker, run_with_budget
from kic_trio.models import ObjectRef, parse
from kic_trio.store import Snapshot, Store
from kic_trio.translator import TranslationResult, Translator

#: Real seconds a blocked worker waits before giving up (only reached when the test fails).
GIVE_UP = 10.0


def _store() -> Store:
    store = Store()
    svc = parse(
        "Service",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "s", "namespace": "ns", "uid": "u-s", "resourceVersion": "1"},
            "spec": {"ports": [{"name": "http", "port": 80, "protocol": "TCP"}]},
        },
    )
    ing = parse(
        "Ingress",
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "i", "namespace": "ns", "uid": "u-i", "resourceVersion": "1"},
            "spec": {
                "ingressClassName": "kong",
                "rules": [
                    {
                        "host": "a.example.com",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "s", "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ],
            },
        },
    )
    store.apply(Upsert("Service", svc))
    store.apply(Upsert("Ingress", ing))
    return store


class Blocked(Translator):
    """A real translator that first waits, in its thread, until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Event()
        self.threads: list[int] = []

    def translate(self, snapshot: Snapshot, changed: Any = None) -> TranslationResult:
        self.threads.append(threading.get_ident())
        self.entered.set()
        if not self.release.wait(timeout=GIVE_UP):
            raise AssertionError("never released: the Trio side did not run meanwhile")
        return super().translate(snapshot, changed)


async def test_trio_tasks_keep_running_while_a_translation_runs_in_the_worker() -> None:
    # A /healthz-like task ticks while the translation is in progress; only after 100 ticks
    # does it let the translation finish. Translating on the Trio thread would deadlock.
    translator = Blocked()
    worker = TranslationWorker(translator)
    store = _store()
    ticks = 0
    ticks_before_done = -1

    async def probe_like() -> None:
        nonlocal ticks
        while ticks < 100:
            await trio.lowlevel.checkpoint()
            ticks += 1
        translator.release.set()

    with trio.fail_after(GIVE_UP * 2):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(probe_like)
            result = await worker.translate(store.snapshot(), None)
            ticks_before_done = ticks
    assert ticks_before_done == 100
    assert translator.threads and translator.threads[0] != threading.get_ident()
    assert result.sha == Translator().translate(store.snapshot()).sha


async def test_healthz_answers_over_http_while_the_controller_translates() -> None:
    # The real probes server and the controller's own _translate: three /healthz answers
    # arrive while the translation is still in its worker; only then is it let finish.
    translator = Blocked()
    instance = Instance.create(Config())
    latest: LatestValue[ConfigPayload] = LatestValue()
    answers: list[str] = []
    with trio.fail_after(GIVE_UP * 2):
        async with trio.open_nursery() as nursery:
            host, port = await nursery.start(serve_app, probes_app(instance), "127.0.0.1:0")

            async def probe() -> None:
                async with httpx.AsyncClient() as client:
                    for _ in range(3):
                        answers.append((await client.get(f"http://{host}:{port}/healthz")).text)
                translator.release.set()

            nursery.start_soon(probe)
            await _translate(
                instance, _store(), TranslationWorker(translator), latest, None, None, None
            )
            assert answers == ["ok", "ok", "ok"]  # before the translation returned
            nursery.cancel_scope.cancel()
    assert latest.peek() is not None


async def test_a_cancelled_translation_is_abandoned_and_the_next_one_waits_for_it() -> None:
    # Shutdown must not wait for a long translation; the abandoned one still owns the
    # translator until it ends, so the next translation never sees half-updated caches.
    translator = Blocked()
    worker = TranslationWorker(translator)
    store = _store()
    with trio.fail_after(GIVE_UP * 2):
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(worker.translate, store.snapshot(), None)
                await trio.to_thread.run_sync(translator.entered.wait, GIVE_UP)
                scope.cancel()
        assert scope.cancelled_caught
        assert len(translator.threads) == 1  # the first translation is still running

        async def release_later() -> None:
            # the second translation is queued behind the abandoned one, not running beside it
            await trio.testing.wait_all_tasks_blocked()
            assert len(translator.threads) == 1
            translator.release.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(release_later)
            result = await worker.translate(store.snapshot(), None)
    assert result.sha == Translator().translate(store.snapshot()).sha
    assert len(translator.threads) == 2


async def test_after_a_translation_raised_the_next_one_is_full() -> None:
    class Breaks(Translator):
        def __init__(self) -> None:
            super().__init__()
            self.calls: list[Any] = []

        def translate(self, snapshot: Snapshot, changed: Any = None) -> TranslationResult:
            self.calls.append(changed)
            if len(self.calls) == 1:
                raise RuntimeError("boom")
            return super().translate(snapshot, changed)

    translator = Breaks()
    worker = TranslationWorker(translator)
    store = _store()
    with trio.fail_after(GIVE_UP):
        with pytest.raises(RuntimeError):
            await worker.translate(store.snapshot(), [("Service", "ns", "s")])
        await worker.translate(store.snapshot(), [("Service", "ns", "s")])
        await worker.translate(store.snapshot(), [("Service", "ns", "s")])
    # the caches may be half updated after the exception: translate everything once
    assert translator.calls == [[("Service", "ns", "s")], None, [("Service", "ns", "s")]]


# --- the watchdog ------------------------------------------------------------------------------


async def test_the_watchdog_fires_once_when_the_budget_ends_not_when_the_work_does(
    autojump_clock: trio.testing.MockClock,
) -> None:
    fired: list[float] = []
    start = trio.current_time()

    async def slow() -> str:
        await trio.sleep(30)
        return "done"

    with trio.fail_after(60):
        out = await run_with_budget(slow, 5.0, lambda: fired.append(trio.current_time() - start))
    assert out == "done"
    assert fired == [5.0]


async def test_the_watchdog_stays_quiet_within_budget_and_when_off(
    autojump_clock: trio.testing.MockClock,
) -> None:
    fired: list[str] = []

    async def quick() -> int:
        await trio.sleep(4.9)
        return 1

    with trio.fail_after(60):
        assert await run_with_budget(quick, 5.0, lambda: fired.append("within")) == 1
        assert await run_with_budget(quick, 0.0, lambda: fired.append("off")) == 1
        await trio.sleep(60 - 10)  # nothing left behind that fires later
    assert fired == []


class Recorder:
    def __init__(self, on_emit: Any = None) -> None:
        self.events: list[tuple[ObjectRef, str, str, str]] = []
        self._on_emit = on_emit

    def emit(self, ref: ObjectRef, type: str, reason: str, message: str) -> None:
        self.events.append((ref, type, reason, message))
        if self._on_emit is not None:
            self._on_emit()


def _over_budget_count(instance: Instance) -> float:
    value = instance.metrics.registry.get_sample_value(
        "kic_trio_translation_over_budget_total", {"instance_id": instance.id}
    )
    return value or 0.0


async def test_a_translation_over_budget_is_counted_logged_and_an_event_on_the_pod(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The translation can only finish once the watchdog has reported it (the Event releases
    # it): the report comes while it runs, not after.
    translator = Blocked()
    instance = Instance.create(
        Config(translation_budget=0.05, pod_name="kic-0", pod_namespace="kong")
    )
    recorder = Recorder(on_emit=translator.release.set)
    instance.recorder = recorder
    latest: LatestValue[ConfigPayload] = LatestValue()
    caplog.set_level(logging.WARNING, "kic_trio.controller")
    with trio.fail_after(GIVE_UP * 2):
        await _translate(
            instance, _store(), TranslationWorker(translator), latest, None, None, None
        )
    assert latest.peek() is not None
    assert _over_budget_count(instance) == 1
    [(ref, type_, reason, message)] = recorder.events
    assert (ref.kind, ref.namespace, ref.name, type_) == ("Pod", "kong", "kic-0", "Warning")
    assert reason == "KongConfigurationTranslationSlow"
    assert "--translation-budget" in message
    assert any("still running after its budget" in r.getMessage() for r in caplog.records)


async def test_without_a_known_pod_the_report_is_metric_and_log_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    translator = Blocked()
    instance = Instance.create(Config(translation_budget=0.05))
    recorder = Recorder()
    instance.recorder = recorder
    latest: LatestValue[ConfigPayload] = LatestValue()
    caplog.set_level(logging.WARNING, "kic_trio.controller")

    async def release_once_counted() -> None:
        await eventually(lambda: _over_budget_count(instance) > 0, interval=0.01)
        translator.release.set()

    with trio.fail_after(GIVE_UP * 2):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(release_once_counted)
            await _translate(
                instance, _store(), TranslationWorker(translator), latest, None, None, None
            )
    assert _over_budget_count(instance) == 1
    assert recorder.events == []
    assert any("still running after its budget" in r.getMessage() for r in caplog.records)


def test_translation_budget_is_a_flag_with_a_generous_default() -> None:
    assert Config().translation_budget == 5.0
    assert Config.from_mapping({"translation_budget": "2s"}).translation_budget == 2.0


# --- the program's GC pause (process-wide, so the program owns it, not the translator) ----------


@pytest.fixture
def gc_restored() -> Any:
    import gc

    was = gc.isenabled()
    yield gc
    gc.unfreeze()
    if was:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.parametrize("limit, collected", [(10**9, True), (0, False)])
def test_the_start_up_gc_pause_ends_with_a_freeze_and_collects_only_a_small_heap(
    gc_restored: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    limit: int,
    collected: bool,
) -> None:
    from kic_trio import _standalone

    gc = gc_restored
    monkeypatch.setattr(_standalone, "_COLLECT_LIMIT", limit)
    gc.disable()
    cycle: list[Any] = []
    cycle.append(cycle)
    del cycle
    caplog.set_level(logging.INFO, "kic_trio")
    _standalone._settle_heap()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0
    [line] = [r.getMessage() for r in caplog.records if "heap settled" in r.getMessage()]
    assert ("unreachable collected first" in line) is collected
    assert ("not collected first" in line) is not collected


def test_the_translator_leaves_the_cyclic_gc_alone(gc_restored: Any) -> None:
    gc = gc_restored
    gc.enable()
    seen: list[bool] = []

    class Watching(Translator):
        def _translate(self, snapshot: Snapshot, changed: Any) -> TranslationResult:
            seen.append(gc.isenabled())
            return super()._translate(snapshot, changed)

    Watching().translate(_store().snapshot())
    assert seen == [True] and gc.isenabled()
