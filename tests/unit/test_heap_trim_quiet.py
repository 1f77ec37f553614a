"""The standalone program gives freed memory back once translations pause, not per translation.

``benchmarks/churn.py`` measured the RSS of a churned controller staying ~24 % up (1k sets):
freed pages of big bodies kept by glibc. ``_trim_when_quiet`` trims once per quiet spell; these
tests drive it with lifecycle events on a MockClock (no real time, no real malloc_trim).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
import trio
import trio.testing

from kic_trio import _standalone
from kic_trio._lifecycle import CachesSynced, LifecycleEvent, TranslationDone


class _Bus:
    def __init__(self) -> None:
        self.send, self.receive = trio.open_memory_channel[LifecycleEvent](16)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[trio.MemoryReceiveChannel[LifecycleEvent]]:
        yield self.receive


def _done() -> TranslationDone:
    return TranslationDone(config_hash="h", failures=(), duration=0.01)


def test_trims_once_after_a_burst_and_again_after_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    trims: list[float] = []

    async def main() -> None:
        bus = _Bus()

        async def trim() -> float:
            trims.append(trio.current_time())
            return 0.0

        monkeypatch.setattr(_standalone, "_trim_in_thread", trim)
        with trio.fail_after(300):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_standalone._trim_when_quiet, bus, 5.0)
                t0 = trio.current_time()
                for _ in range(10):  # a burst: one translation a second, no trim meanwhile
                    await bus.send.send(_done())
                    await trio.sleep(1)
                    assert not trims
                await bus.send.send(CachesSynced(kinds=()))  # not a translation: no effect
                await trio.sleep(3)
                assert not trims  # 4 s since the last translation
                await trio.sleep(2)
                assert trims == [pytest.approx(t0 + 9 + 5)]
                await bus.send.send(_done())
                await trio.sleep(20)
                assert len(trims) == 2
                await trio.sleep(100)  # quiet: nothing more to give back
                assert len(trims) == 2
                nursery.cancel_scope.cancel()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def test_tuning_the_allocator_is_harmless_to_call() -> None:
    _standalone._tune_allocator()  # glibc here; elsewhere it does nothing
    assert _standalone._trim() >= 0.0
