"""One controller against the test control plane and FakeKong: the settings live tests share.

Loopback, port 0 for every server, quick pushes and retries, one watched namespace (the
test's fresh one), so a test waits on conditions in fractions of a second.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

import kic_trio


def live_config(
    kubeconfig: Path, urls: Sequence[str], namespace: str, **overrides: Any
) -> kic_trio.Config:
    """The shared settings for ``namespace`` and the FakeKong ``urls``; ``overrides`` win."""
    settings: dict[str, Any] = {
        "kubeconfig": str(kubeconfig),
        "kong_admin_url": list(urls),
        "watch_namespace": [namespace],
        "health_probe_bind_address": "127.0.0.1:0",
        "metrics_bind_address": "127.0.0.1:0",
        "proxy_sync_seconds": 0.2,
        "kong_admin_init_retries": 5,
        "kong_admin_init_retry_delay": 0.2,
        "pod_name": "kic-0",
        "pod_namespace": namespace,
    }
    settings.update(overrides)
    return kic_trio.Config(**settings)


@asynccontextmanager
async def running(cfg: kic_trio.Config) -> AsyncIterator[kic_trio.Controller]:
    """``kic_trio.run`` in a nursery for the ``with`` block; cancelled when it ends."""
    async with trio.open_nursery() as nursery:
        controller: kic_trio.Controller = await nursery.start(kic_trio.run, cfg)
        yield controller
        nursery.cancel_scope.cancel()
