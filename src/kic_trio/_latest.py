"""A one-slot mailbox that keeps only the newest value.

Used between the translator and the applier: a config the applier has not taken yet is
replaced by a newer one, so a slow gateway never makes the controller replay history.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import trio

T = TypeVar("T")


class LatestValue(Generic[T]):
    """``put`` never blocks; ``get`` waits for a value newer than the last one taken."""

    def __init__(self) -> None:
        self._value: T | None = None
        self._version = 0
        self._taken = 0
        self._changed = trio.Event()

    def put(self, value: T) -> None:
        self._value = value
        self._version += 1
        self._changed.set()
        self._changed = trio.Event()

    def peek(self) -> T | None:
        """The newest value, taken or not (``None`` before the first ``put``)."""
        return self._value

    @property
    def has_new(self) -> bool:
        return self._version != self._taken

    async def get(self) -> T:
        while self._version == self._taken:
            await self._changed.wait()
        self._taken = self._version
        assert self._value is not None
        return self._value
