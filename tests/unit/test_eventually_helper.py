"""The shared ``eventually()`` helper: returns the first truthy value, polls on the clock."""

from __future__ import annotations

import pytest
import trio
import trio.lowlevel
import trio.testing

from _eventually import eventually


async def test_returns_the_first_truthy_value_of_a_sync_predicate(
    autojump_clock: trio.testing.MockClock,
) -> None:
    calls: list[float] = []

    def ready() -> list[str]:
        calls.append(trio.current_time())
        return ["found"] if len(calls) == 4 else []

    start = trio.current_time()
    assert await eventually(ready, interval=0.5) == ["found"]
    assert [t - start for t in calls] == [0.0, 0.5, 1.0, 1.5]


async def test_awaits_an_async_predicate(autojump_clock: trio.testing.MockClock) -> None:
    answers = iter([0, 0, 7])

    async def probe() -> int:
        await trio.lowlevel.checkpoint()
        return next(answers)

    assert await eventually(probe) == 7


async def test_a_timeout_names_what_never_happened(autojump_clock: trio.testing.MockClock) -> None:
    with pytest.raises(AssertionError, match="the pod never became true within 3"):
        await eventually(lambda: False, timeout=3, what="the pod")
