"""``Instance``: everything one running controller owns, handed to each of its tasks.

There is no module-level mutable state in kic-trio: two ``run()`` calls in one process get
two instances, two metrics registries, two Kubernetes clients.
"""

from __future__ import annotations

import logging
import uuid
from typing import Protocol

import attrs
import trio

from ._leadership import LeaderState
from ._lifecycle import LifecycleBus
from ._metrics import Metrics
from .config import Config
from .diagnostics._collector import DiagnosticsSink, NullDiagnostics
from .models import ObjectRef


class EventRecorder(Protocol):
    """Where Kubernetes Events go (``kic_trio.k8s`` implements it). ``emit`` never blocks."""

    def emit(self, ref: ObjectRef, type: str, reason: str, message: str) -> None: ...


class NullRecorder:
    """Drops every event: ``emit_kubernetes_events=false``, or no Kubernetes at all."""

    def emit(self, ref: ObjectRef, type: str, reason: str, message: str) -> None:
        return None


@attrs.define
class Health:
    """What ``/readyz`` reports: caches synced, and — as leader in DB-less mode — a first push."""

    started: bool = False
    caches_synced: bool = False
    first_push_done: bool = False
    _ready_event: trio.Event = attrs.field(factory=trio.Event)

    def not_ready_reason(self, is_leader: bool) -> str | None:
        if not self.started:
            return "controller not started"
        if not self.caches_synced:
            return "caches not yet synced"
        if is_leader and not self.first_push_done:
            return "synchronizer not yet configured"
        return None

    def mark_synced(self) -> None:
        self.caches_synced = True
        self._check()

    def mark_pushed(self) -> None:
        self.first_push_done = True
        self._check()

    def _check(self) -> None:
        if self.caches_synced and self.first_push_done:
            self._ready_event.set()

    async def wait_ready(self) -> None:
        await self._ready_event.wait()


@attrs.define
class Instance:
    """The per-run context. Build one with :meth:`create`."""

    cfg: Config
    id: str
    log: logging.Logger
    metrics: Metrics
    bus: LifecycleBus
    leader: LeaderState
    health: Health
    recorder: EventRecorder = attrs.field(factory=NullRecorder)
    #: What ``--dump-config`` keeps (``kic_trio.diagnostics``); records nothing when off.
    diagnostics: DiagnosticsSink = attrs.field(factory=NullDiagnostics)

    @classmethod
    def create(cls, cfg: Config, *, instance_id: str | None = None) -> Instance:
        iid = instance_id or uuid.uuid4().hex[:12]
        return cls(
            cfg=cfg,
            id=iid,
            log=logging.getLogger("kic_trio"),
            metrics=Metrics(iid),
            bus=LifecycleBus(),
            leader=LeaderState(True),
            health=Health(),
        )
