"""The standalone program: logging, signals, ``run()``."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import signal
from collections.abc import AsyncIterator

import trio

from ._config import Config
from ._controller import Controller, run
from ._errors import KicTrioError
from ._lifecycle import TranslationDone
from ._logging import configure_logging

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


def _settle_heap() -> None:
    """After start-up: stop re-scanning the long-lived heap, give freed memory back to the OS.

    The store and the translator's caches are hundreds of thousands of long-lived objects;
    freezing them keeps the cyclic GC from walking them on every collection (it showed up as a
    quarter of the CPU at 10k sets). The initial lists leave freed but fragmented memory that
    glibc only returns on ``malloc_trim``. Process-wide effects, so the program does this, the
    library never does.
    """
    gc.collect()
    gc.freeze()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


async def _settle_after_start(controller: Controller) -> None:
    if controller.latest_config is None:
        async with controller.subscribe() as events:
            async for event in events:
                if isinstance(event, TranslationDone):
                    break
    _settle_heap()
    log.debug("heap settled after the first translation")


async def _stop_on_signal(signals: AsyncIterator[int], scope: trio.CancelScope) -> None:
    async for signum in signals:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        scope.cancel()
        return


async def _main(cfg: Config) -> None:
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
