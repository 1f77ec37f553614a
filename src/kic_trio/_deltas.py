"""What the watch layer tells the store: one object changed, one went away, one kind is synced
(and, from the Kong side, that Kong's schemas of custom entity types changed)."""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen(slots=True)
class Upsert:
    """``obj`` (a model from :mod:`kic_trio.models`) was added or modified."""

    kind: str
    obj: Any
    #: ``trio.current_time()`` when the watch saw it (for end-to-end latency metrics).
    seen_at: float = 0.0


@attrs.frozen(slots=True)
class Delete:
    """The object ``namespace/name`` of ``kind`` is gone (or no longer ours)."""

    kind: str
    namespace: str
    name: str
    seen_at: float = 0.0


@attrs.frozen(slots=True)
class Synced:
    """The watcher of ``kind`` finished its initial list: the store holds all of it."""

    kind: str


@attrs.frozen(slots=True)
class SchemasLearned:
    """Kong's answer about a KongCustomEntity type changed (``kong._schemas``): not an object
    change, but the translation of custom entities depends on it, so translate again."""


Delta = Upsert | Delete | Synced | SchemasLearned
