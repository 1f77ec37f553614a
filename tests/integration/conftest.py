"""Fixtures for tests against a real control plane (etcd + kube-apiserver on loopback).

* ``control_plane``, ``kubeconfig``, ``k8s_namespace``: from ``tests/conftest.py`` (one control
  plane serves the whole run).
* ``watch_harness``: ``run_watchers`` feeding a real Store.

Every test in this folder is marked ``integration`` automatically.
"""

from __future__ import annotations

import contextlib
import functools
import math
import types
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import trio

from kic_trio.testing.controlplane import ControlPlane


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


# --------------------------------------------------------------------------------------------
# The watch layer against the real API server: deltas applied to a real Store.


class WatchHarness:
    """``run_watchers`` feeding a :class:`kic_trio.store.Store`; tests wait on the store."""

    def __init__(self, cfg: Any) -> None:
        from kic_trio._metrics import Metrics
        from kic_trio.store import Store

        self.cfg = cfg
        self.instance = types.SimpleNamespace(cfg=cfg, metrics=Metrics("test"), id="test")
        self.store = Store()
        self.deltas: list[Any] = []
        self.synced: set[str] = set()
        self.fetcher: Any = None
        self.expected: frozenset[str] = frozenset()
        self._changed = trio.Event()

    async def consume(self, receive: trio.MemoryReceiveChannel[Any]) -> None:
        from kic_trio._deltas import Synced

        async for delta in receive:
            self.deltas.append(delta)
            if isinstance(delta, Synced):
                self.synced.add(delta.kind)
            else:
                self.store.apply(delta)
            self._changed.set()
            self._changed = trio.Event()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        while not predicate():
            await self._changed.wait()

    def get(self, kind: str, namespace: str, name: str) -> Any:
        return self.store.get(kind, namespace, name)

    def keys(self, kind: str, namespace: str) -> set[str]:
        return {o.name for o in self.store.snapshot().list(kind) if o.namespace == namespace}

    def metric(self, name: str, **labels: str) -> float:
        value = self.instance.metrics.registry.get_sample_value(name, labels)
        return float(value or 0.0)


@pytest.fixture
def watch_harness(control_plane: ControlPlane) -> Callable[..., Any]:
    """``async with watch_harness(watch_namespace=[ns], ...) as h:`` -- watchers running and synced."""
    from kic_trio.config import Config
    from kic_trio.k8s import open_kube_client, run_watchers

    @contextlib.asynccontextmanager
    async def open_harness(
        *, reflector_options: dict[str, Any] | None = None, **cfg_fields: Any
    ) -> AsyncIterator[WatchHarness]:
        cfg_fields.setdefault("kubeconfig", str(control_plane.kubeconfig))
        cfg = Config(**cfg_fields)
        h = WatchHarness(cfg)
        send, receive = trio.open_memory_channel[Any](math.inf)
        async with open_kube_client(cfg) as kube, trio.open_nursery() as nursery:
            nursery.start_soon(h.consume, receive)
            h.fetcher, h.expected = await nursery.start(
                functools.partial(
                    run_watchers,
                    h.instance,
                    kube,
                    send,
                    crd_poll_interval=0.5,
                    reflector_options=reflector_options,
                )
            )
            await h.wait_until(lambda: h.expected <= h.synced)
            yield h
            nursery.cancel_scope.cancel()

    return open_harness
