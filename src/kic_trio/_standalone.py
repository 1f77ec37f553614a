"""The standalone program: logging, signals, ``run()``."""

from __future__ import annotations

import logging
import signal

import trio

from ._config import Config
from ._controller import run
from ._errors import KicTrioError
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


async def _main(cfg: Config) -> None:
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run, cfg)
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                log.info("received %s, shutting down", signal.Signals(signum).name)
                nursery.cancel_scope.cancel()
                break


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
