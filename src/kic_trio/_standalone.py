"""The standalone program: logging, signals, ``run()``."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import signal
import time
from collections.abc import AsyncIterator

import trio

from ._controller import Controller, run
from ._errors import KicTrioError
from ._lifecycle import TranslationDone
from ._logging import configure_logging
from .config import Config

log = logging.getLogger("kic_trio")


def _secrets_of(cfg: Config) -> list[str]:
    secrets = [cfg.kong_admin_token or "", cfg.kong_admin_tls_client_key or ""]
    secrets += [h.partition(":")[2].strip() for h in cfg.kong_admin_header]
    try:
        token = cfg.resolved_admin_token()
    except OSError:
        token = None
    secrets.append(token or "")
    return secrets


#: Above this many tracked objects the start-up's collection is skipped: a full collection walks
#: every one of them on the Trio thread (the GIL is not released meanwhile); measured 0.36 s for
#: 260k objects (2k sets) and 2.3 s at 10k sets, a stall that /healthz and the Lease would see.
_COLLECT_LIMIT = 250_000


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


#: glibc ``mallopt`` parameters (malloc.h): M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8
#: Allocations at least this big get their own mapping, returned to the OS when freed.
_MMAP_THRESHOLD = 256 * 1024


def _tune_allocator() -> None:
    """Keep glibc from holding on to the memory of big, short-lived buffers.

    Every push builds a body of ~3 KB per set (30 MB at 10k), the API lists and FakeKong/Kong
    answers are as big, and the translation runs in a worker thread. glibc's defaults keep
    that memory: its mmap threshold grows to the largest block freed (so the next 30 MB body
    comes from the heap and fragments it), and each thread gets its own arena. Measured at 1k
    sets: RSS +24 % after 1,000 create/update/delete cycles (``benchmarks/churn.py``), a
    plateau, not a leak of objects (``Translator.bookkeeping``/``Store.bookkeeping`` stay
    flat). A fixed threshold (big blocks always mapped, unmapped on free) and two arenas fix
    it. Process-wide, so the program does it, never the library; not glibc: nothing to do.
    """
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return
    mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
    mallopt(_M_TRIM_THRESHOLD, 2 * _MMAP_THRESHOLD)
    mallopt(_M_ARENA_MAX, 2)


def _trim() -> float:
    """``malloc_trim(0)``: hand freed pages back to the OS; the seconds it took."""
    t0 = time.perf_counter()
    libc = _libc()
    trim = getattr(libc, "malloc_trim", None)
    if trim is not None:
        trim(0)  # ctypes releases the GIL for the call
    return time.perf_counter() - t0


async def _trim_in_thread() -> float:
    return await trio.to_thread.run_sync(_trim)


async def _trim_when_quiet(controller: Controller, quiet: float = 5.0) -> None:
    """After a burst of translations, once none came for ``quiet`` s: give freed memory back.

    Fragmented pages left by a translation and its push would otherwise stay in the RSS until
    reused; trimming once per quiet spell (not per translation) costs a few ms at 10k sets.
    """
    async with controller.subscribe() as events:
        while True:
            event = await events.receive()
            if not isinstance(event, TranslationDone):
                continue
            while True:
                with trio.move_on_after(quiet) as scope:
                    while not isinstance(await events.receive(), TranslationDone):
                        pass
                if scope.cancelled_caught:
                    break
            took = await _trim_in_thread()
            log.debug("heap trimmed after a quiet spell in %.3fs", took)


def _settle_heap() -> None:
    """After start-up: stop re-scanning the long-lived heap, give freed memory back to the OS.

    The store and the translator's caches are hundreds of thousands of long-lived objects;
    freezing them keeps the cyclic GC from walking them on every collection (it showed up as a
    quarter of the CPU at 10k sets). The initial lists leave freed but fragmented memory that
    glibc only returns on ``malloc_trim``. Process-wide effects, so the program does this, the
    library never does.

    The cyclic GC was paused for the start-up (see ``_main``), so every object allocated since
    is still in generation 0 and ``gc.get_count()[0]`` tells how big a collection would be.
    A small heap is collected before it is frozen; a big one is frozen as it is (``freeze``
    itself is O(1)), keeping whatever reference cycles the start-up left behind (measured at
    2k sets: 5.7k objects, against 260k live ones) rather than holding the event loop for
    seconds. The GC then resumes, and steady-state collections only walk what changed since.
    """
    t0 = time.perf_counter()
    tracked = gc.get_count()[0]
    found = gc.collect() if tracked <= _COLLECT_LIMIT else None
    gc.freeze()
    gc.enable()
    t1 = time.perf_counter()
    _trim()
    log.info(
        "heap settled: %d objects frozen (%s) in %.3fs, trim %.3fs",
        gc.get_freeze_count(),
        f"{found} unreachable collected first" if found is not None else "not collected first",
        t1 - t0,
        time.perf_counter() - t1,
    )


async def _settle_after_start(controller: Controller) -> None:
    if controller.latest_config is None:
        async with controller.subscribe() as events:
            async for event in events:
                if isinstance(event, TranslationDone):
                    break
    _settle_heap()
    log.debug("heap settled after the first translation")
    await _trim_when_quiet(controller)


async def _stop_on_signal(signals: AsyncIterator[int], scope: trio.CancelScope) -> None:
    async for signum in signals:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        scope.cancel()
        return


async def _main(cfg: Config) -> None:
    # The start-up builds hundreds of thousands of long-lived, acyclic objects (the initial
    # lists, then the first translation in its worker thread): the cyclic GC would rescan that
    # growing heap again and again (measured: half the time of a 10k-set translation). Paused
    # process-wide until the first translation is done, then collected and frozen at once.
    gc.disable()
    _tune_allocator()
    # The receiver is open before start-up (a Ctrl-C while caches sync is a clean stop too)
    # and until the end (a second Ctrl-C during shutdown is not a KeyboardInterrupt traceback).
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGHUP) as signals:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_stop_on_signal, signals, nursery.cancel_scope)
            controller = await nursery.start(run, cfg)
            nursery.start_soon(_settle_after_start, controller)


def run_standalone(cfg: Config) -> int:
    configure_logging(cfg.log_level, cfg.log_format, _secrets_of(cfg))
    try:
        trio.run(_main, cfg)
    except KicTrioError as exc:
        log.error("%s", exc)
        return 1
    except BaseExceptionGroup as group:
        for inner in group.exceptions:
            log.error("%s", inner)
        return 1
    return 0
