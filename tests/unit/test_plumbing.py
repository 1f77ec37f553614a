"""The small primitives between the tasks: newest-wins mailbox, lifecycle fan-out, exception policy."""

from __future__ import annotations

import trio
import trio.testing

from kic_trio import ConfigApplied, ControllerError, EventsDropped, Started
from kic_trio._controller import _collapse
from kic_trio._latest import LatestValue
from kic_trio._lifecycle import LifecycleBus


async def test_latest_value_keeps_only_the_newest(autojump_clock: trio.testing.MockClock) -> None:
    slot: LatestValue[int] = LatestValue()
    assert slot.peek() is None and not slot.has_new
    for i in range(5):
        slot.put(i)
    assert slot.has_new
    assert await slot.get() == 4  # 0..3 were never taken: no replay of history
    assert not slot.has_new
    with trio.move_on_after(1) as scope:  # virtual time: nothing new, so get() waits
        await slot.get()
    assert scope.cancelled_caught


async def test_latest_value_wakes_a_waiting_taker() -> None:
    slot: LatestValue[str] = LatestValue()
    got: list[str] = []

    async def taker() -> None:
        got.append(await slot.get())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(taker)
        await trio.testing.wait_all_tasks_blocked()
        slot.put("config-a")
    assert got == ["config-a"]


async def test_bus_fans_out_and_a_slow_subscriber_loses_oldest_with_a_marker() -> None:
    bus = LifecycleBus()
    async with bus.subscribe(buffer=2) as slow, bus.subscribe(buffer=16) as fast:
        for i in range(5):
            bus.emit(ConfigApplied(gateway="g", config_hash=str(i), duration=0.0, size=0))
        fast_seen = [fast.receive_nowait() for _ in range(5)]
        assert [e.config_hash for e in fast_seen] == ["0", "1", "2", "3", "4"]  # type: ignore[union-attr]
        first, second = slow.receive_nowait(), slow.receive_nowait()
        assert [first.config_hash, second.config_hash] == ["0", "1"]  # type: ignore[union-attr]
        bus.emit(Started())
        dropped = slow.receive_nowait()
        assert isinstance(dropped, EventsDropped) and dropped.count == 3
        assert isinstance(slow.receive_nowait(), Started)
    # unsubscribed on exit: emitting after is harmless
    bus.emit(Started())


def test_exception_policy_one_failure_is_one_controller_error() -> None:
    boom = RuntimeError("boom")
    group = BaseExceptionGroup("root", [BaseExceptionGroup("inner", [boom])])
    err = _collapse(group)
    assert isinstance(err, ControllerError)
    assert err.__cause__ is boom
    assert "boom" in str(err)


def test_exception_policy_keyboard_interrupt_wins() -> None:
    group = BaseExceptionGroup("root", [RuntimeError("x"), KeyboardInterrupt()])
    assert isinstance(_collapse(group), KeyboardInterrupt)
