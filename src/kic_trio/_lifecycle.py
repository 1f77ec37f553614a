"""Lifecycle events: what an embedding application can react to.

Subscribe on the handle (``controller.subscribe()``) and read the channel::

    async with controller.subscribe() as events:
        async for event in events:
            if isinstance(event, kic_trio.ConfigApplied):
                print("gateway", event.gateway, "now runs", event.config_hash)

A subscriber that does not keep up loses the *oldest* undelivered events (its buffer is
bounded) and never slows the controller down; ``EventsDropped`` tells it so.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping

import attrs
import trio

from .models import NO_STATUS, Failure, ObjectRef, ObjectStatus


@attrs.frozen
class Started:
    """``run()`` validated its configuration and started every task."""


@attrs.frozen
class CachesSynced:
    """Every enabled watcher finished its initial list (or the wait timed out: ``late``)."""

    kinds: tuple[str, ...]
    late: tuple[str, ...] = ()


@attrs.frozen
class TranslationDone:
    """A translation finished; ``failures`` lists every object that could not be translated."""

    config_hash: str
    failures: tuple[Failure, ...]
    duration: float
    #: The per-object status the translation decided (``ConfigPayload.status``): the Gateway
    #: API status edge writes GatewayClass/Gateway status from it without waiting for a push.
    status: Mapping[ObjectRef, ObjectStatus] = attrs.field(default=NO_STATUS, repr=False)


@attrs.frozen
class ConfigApplied:
    """A gateway accepted (or already had) the configuration with this hash."""

    gateway: str
    config_hash: str
    duration: float
    size: int
    skipped: bool = False
    #: A fallback configuration: the objects it leaves out (refused, or depending on what was).
    left_out: tuple[ObjectRef, ...] = ()
    #: The plugin instances the fallback removes, each with what it protected (also left out).
    plugins_removed: tuple[str, ...] = ()


@attrs.frozen
class PushFailed:
    """A push to one gateway failed; ``failures`` maps Kong's entity errors back to objects.

    On a refusal (400) with a fallback to push, ``left_out`` and ``plugins_removed`` say what
    the fallback will leave out; ``reason`` says it too.
    """

    gateway: str
    reason: str
    status: int | None = None
    failures: tuple[Failure, ...] = ()
    left_out: tuple[ObjectRef, ...] = ()
    plugins_removed: tuple[str, ...] = ()


@attrs.frozen
class LeadershipGained:
    """This instance became the leader: it now pushes and writes status."""


@attrs.frozen
class LeadershipLost:
    """This instance is no longer the leader: it stopped pushing."""


@attrs.frozen
class EventsDropped:
    """The subscriber was too slow; ``count`` events were dropped before this one."""

    count: int


LifecycleEvent = (
    Started
    | CachesSynced
    | TranslationDone
    | ConfigApplied
    | PushFailed
    | LeadershipGained
    | LeadershipLost
    | EventsDropped
)


class _Subscriber:
    def __init__(self, buffer: int) -> None:
        self.send, self.receive = trio.open_memory_channel[LifecycleEvent](buffer)
        self.dropped = 0


class LifecycleBus:
    """Fan-out of lifecycle events to any number of subscribers. ``emit`` never blocks."""

    def __init__(self) -> None:
        self._subscribers: list[_Subscriber] = []

    def emit(self, event: LifecycleEvent) -> None:
        for sub in list(self._subscribers):
            if sub.dropped:
                try:
                    sub.send.send_nowait(EventsDropped(sub.dropped))
                    sub.dropped = 0
                except trio.WouldBlock:
                    sub.dropped += 1
                    continue
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    self._subscribers.remove(sub)
                    continue
            try:
                sub.send.send_nowait(event)
            except trio.WouldBlock:
                sub.dropped += 1
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._subscribers.remove(sub)

    @contextlib.asynccontextmanager
    async def subscribe(
        self, buffer: int = 256
    ) -> AsyncIterator[trio.MemoryReceiveChannel[LifecycleEvent]]:
        sub = _Subscriber(buffer)
        self._subscribers.append(sub)
        try:
            async with sub.receive:
                yield sub.receive
        finally:
            if sub in self._subscribers:
                self._subscribers.remove(sub)
            await sub.send.aclose()

    def close(self) -> None:
        for sub in self._subscribers:
            sub.send.close()
        self._subscribers.clear()
