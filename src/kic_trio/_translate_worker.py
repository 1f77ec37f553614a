"""Translations off the Trio thread, and the watchdog that reports one over its budget.

Why a worker thread and not cooperative yielding: a full translation at 10k sets is ~2 s of
pure Python spread over a dozen stages and hundreds of helpers, some of them (sorting, the
certificate checks, serialisation) single C calls that cannot yield at all. Sprinkling
checkpoints through the pure core would tie it to an event loop (rule 1 of DESIGN.md) and
still leave long un-yielding stretches. A thread needs nothing from the core: the Trio thread
keeps applying deltas to the store, answering probes, renewing the Lease and pushing while the
worker translates; the GIL hands the Trio thread the interpreter every switch interval (5 ms),
which bounds how long a probe waits.

Who touches what, so that nothing is shared while it changes:

* The **store** stays on the Trio thread. The worker gets a :class:`~kic_trio.store.Snapshot`,
  which is immutable (persistent maps), taken on the Trio thread before the hand-off.
* The **translator** (its incremental caches) is only ever touched inside
  :meth:`TranslationWorker._run`, under a ``threading.Lock``, one translation at a time.
* **Cancellation** (shutdown) abandons the worker (``abandon_on_cancel=True``), so stopping
  the controller never waits for a long or stuck translation. A Python thread cannot be
  interrupted, so the abandoned translation runs to its end holding the lock, and its result
  is dropped; a later translation waits for the lock, so the caches are never seen half
  updated. If a translation raises, its caches may be half updated: the next translation is a
  full one.
* The ``changed`` set a caller passes may be a superset of what changed since the previous
  translation (re-translating an unchanged object gives the same units), so a caller that
  retries after a cancelled hand-off loses nothing.

The cyclic GC is not touched here: ``gc.disable()`` is process-wide, and with a worker thread it
would also pause collection for everything the Trio thread does. The program decides
(``_standalone.py`` pauses it for the start-up, when the big translation happens).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

import attrs
import trio

from .store import Snapshot
from .translator import TranslationResult, Translator

log = logging.getLogger("kic_trio.controller")

T = TypeVar("T")
Changes = Iterable[tuple[str, str, str]] | None


@attrs.define(eq=False)
class TranslationWorker:
    """Runs one :class:`Translator` in a worker thread, one translation at a time.

    ``offload=False`` translates on the calling (Trio) thread: for the virtual-time tests of the
    translator task, where a thread's real duration would race the mock clock's jumps.
    """

    translator: Translator
    offload: bool = True
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False)
    _limiter: trio.CapacityLimiter = attrs.field(
        factory=lambda: trio.CapacityLimiter(1), init=False
    )
    #: True while a translation is in progress or after one raised: the caches cannot be trusted.
    _dirty: bool = attrs.field(default=False, init=False)

    async def translate(self, snapshot: Snapshot, changed: Changes) -> TranslationResult:
        """Translate ``snapshot`` (``changed``: what changed since the last call, or None: all)."""
        if not self.offload:
            return self._run(snapshot, changed)
        return await trio.to_thread.run_sync(
            self._run, snapshot, changed, limiter=self._limiter, abandon_on_cancel=True
        )

    def _run(self, snapshot: Snapshot, changed: Changes) -> TranslationResult:
        with self._lock:
            if self._dirty:
                changed = None
            self._dirty = True
            result = self.translator.translate(snapshot, changed)
            self._dirty = False
            return result


async def run_with_budget(
    work: Callable[[], Awaitable[T]], budget: float, on_over: Callable[[], None]
) -> T:
    """``await work()``; call ``on_over()`` once if it is still running after ``budget`` seconds.

    The report comes when the budget ends, not when the work ends, so a translation that never
    finishes (a pathological input) is reported too. ``budget <= 0`` turns the watchdog off.
    """
    async with trio.open_nursery() as nursery:
        if budget > 0:

            async def watchdog() -> None:
                await trio.sleep(budget)
                on_over()

            nursery.start_soon(watchdog)
        result = await work()
        nursery.cancel_scope.cancel()
    return result
