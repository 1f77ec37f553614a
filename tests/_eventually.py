"""``eventually()``: the one way tests wait for state that has no event of its own.

Use it only where nothing can be awaited (an Event, a channel, ``FakeKong.wait_for``, the watch
harness's ``wait_until``): API-server objects a test cannot watch (Events, status), metrics,
audit logs, process tables. It polls ``predicate`` — sync or async — every ``interval`` seconds
until it returns something truthy, and returns that value (so the caller can assert on what it
found). There is no count of tries: the bound is the caller's absolute ``trio.fail_after`` (the
house rule for I/O tests), or ``timeout`` here, which turns the wait into an AssertionError
naming ``what`` never became true. On a MockClock the interval is virtual time.

Import it as ``from _eventually import eventually`` (tests/ is on sys.path: its conftest.py).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Awaitable, Callable
from typing import TypeVar

import trio

T = TypeVar("T")


async def eventually(
    predicate: Callable[[], T | Awaitable[T]],
    *,
    interval: float = 0.05,
    timeout: float = math.inf,
    what: str = "the condition",
) -> T:
    """Wait until ``predicate()`` is truthy; return its value. See the module docstring."""
    with trio.move_on_after(timeout) as scope:
        while True:
            value = predicate()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value  # type: ignore[return-value]
            await trio.sleep(interval)
    assert not scope.cancelled_caught, f"{what} never became true within {timeout} s"
    raise AssertionError("unreachable")
